// Writes records through the real KPL (its native daemon) with aggregation on, and journals
// what the KPL reports for each one. See ../../../README.md for arguments and output lines.

import java.io.FileOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;

import com.amazonaws.auth.AWSStaticCredentialsProvider;
import com.amazonaws.auth.BasicAWSCredentials;
import com.amazonaws.services.kinesis.producer.Attempt;
import com.amazonaws.services.kinesis.producer.KinesisProducer;
import com.amazonaws.services.kinesis.producer.KinesisProducerConfiguration;
import com.amazonaws.services.kinesis.producer.UserRecordFailedException;
import com.amazonaws.services.kinesis.producer.UserRecordResult;

public final class KplProducer {
    private KplProducer() {}

    public static void main(String[] argv) throws Exception {
        System.setProperty("org.slf4j.simpleLogger.defaultLogLevel", "info");
        System.setProperty("aws.java.v1.disableDeprecationAnnouncement", "true");
        System.setProperty("org.slf4j.simpleLogger.showDateTime", "true");
        System.setProperty("org.slf4j.simpleLogger.dateTimeFormat", "HH:mm:ss.SSS");

        Map<String, String> args = parse(argv);
        String stream = required(args, "stream");
        String output = required(args, "output");
        String region = args.getOrDefault("region", "us-east-1");
        String kinesisHost = args.getOrDefault("kinesis-host", "localhost");
        long kinesisPort = Long.parseLong(args.getOrDefault("kinesis-port", "4567"));
        long count = Long.parseLong(args.getOrDefault("count", "100"));
        long keys = Math.max(1, Long.parseLong(args.getOrDefault("keys", "10")));
        String prefix = args.getOrDefault("prefix", "r");

        // The daemon asks STS (GetCallerIdentity, over TLS) for the account of the stream's ARN
        // before its first request. Without --sts-port an in-process stub answers it with
        // --sts-account (kinesis-local's account by default).
        StsStub stub = null;
        String stsHost = args.get("sts-host");
        String stsPortText = args.get("sts-port");
        long stsPort;
        if (stsPortText == null) {
            stub = StsStub.start(args.getOrDefault("sts-account", "000000000000"));
            stsHost = "localhost";
            stsPort = stub.port();
        } else {
            stsPort = Long.parseLong(stsPortText);
            if (stsHost == null) {
                stsHost = "localhost";
            }
        }

        // With --metrics-output, the KPL's metrics go to an in-process CloudWatch stub that
        // journals each datum there; otherwise metrics are off.
        String metricsOutput = args.get("metrics-output");
        CloudWatchStub cloudWatch = metricsOutput == null ? null : CloudWatchStub.start(metricsOutput);
        String cloudWatchHost = cloudWatch == null ? kinesisHost : "localhost";
        long cloudWatchPort = cloudWatch == null ? kinesisPort : cloudWatch.port();

        KinesisProducerConfiguration config = new KinesisProducerConfiguration()
                .setRegion(region)
                .setCredentialsProvider(new AWSStaticCredentialsProvider(new BasicAWSCredentials(
                        env("AWS_ACCESS_KEY_ID", "AKIDEMULATORFAKE"),
                        env("AWS_SECRET_ACCESS_KEY", "emulator-fake-secret"))))
                .setKinesisEndpoint(kinesisHost)
                .setKinesisPort(kinesisPort)
                .setStsEndpoint(stsHost)
                .setStsPort(stsPort)
                .setCloudwatchEndpoint(cloudWatchHost)
                .setCloudwatchPort(cloudWatchPort)
                .setVerifyCertificate(false)
                .setMetricsLevel(cloudWatch == null ? "none" : args.getOrDefault("metrics-level", "detailed"))
                .setMetricsGranularity(args.getOrDefault("metrics-granularity", "shard"))
                .setMetricsUploadDelay(Long.parseLong(args.getOrDefault("metrics-upload-millis", "1000")))
                .setAggregationEnabled(true)
                .setRecordMaxBufferedTime(100)
                .setLogLevel("info");

        KinesisProducer producer = new KinesisProducer(config);
        // The KPL aggregates only records whose shard it can predict, which needs its shard map
        // (STS, then ListShards); records added before that are sent one by one. A flush creates
        // the stream's pipeline, and with it the shard map, without writing anything.
        producer.flush(stream);
        Thread.sleep(Long.parseLong(args.getOrDefault("warmup-millis", "3000")));
        List<Future<UserRecordResult>> results = new ArrayList<>();
        for (long n = 0; n < count; n++) {
            String key = "key-" + (n % keys);
            ByteBuffer data = ByteBuffer.wrap((prefix + "-" + n).getBytes(StandardCharsets.UTF_8));
            results.add(producer.addUserRecord(stream, key, data));
        }
        producer.flushSync();

        long failed = 0;
        try (OutputStream out = new FileOutputStream(output, true)) {
            for (int i = 0; i < results.size(); i++) {
                long n = i;
                String key = "key-" + (n % keys);
                Map<String, Object> line = new LinkedHashMap<>();
                try {
                    UserRecordResult r = results.get(i).get();
                    line.put("event", "put");
                    line.put("n", n);
                    line.put("partition_key", key);
                    line.put("shard", r.getShardId());
                    line.put("sequence", r.getSequenceNumber());
                    line.put("attempts", r.getAttempts().size());
                } catch (ExecutionException e) {
                    failed++;
                    line.put("event", "put_failed");
                    line.put("n", n);
                    line.put("partition_key", key);
                    line.put("error", describe(e.getCause()));
                }
                line.put("time_ms", System.currentTimeMillis());
                write(out, line);
            }
            Map<String, Object> done = new LinkedHashMap<>();
            done.put("event", "done");
            done.put("count", count);
            done.put("failed", failed);
            done.put("time_ms", System.currentTimeMillis());
            write(out, done);
        }
        if (cloudWatch != null) {
            // The daemon uploads every metrics-upload-millis; wait for the uploads that cover
            // the last records.
            Thread.sleep(3 * Long.parseLong(args.getOrDefault("metrics-upload-millis", "1000")) + 1000);
        }
        producer.destroy();
        if (stub != null) {
            stub.stop();
        }
        if (cloudWatch != null) {
            cloudWatch.stop();
        }
        System.exit(failed == 0 ? 0 : 1);
    }

    private static String describe(Throwable t) {
        if (t instanceof UserRecordFailedException) {
            List<Attempt> attempts = ((UserRecordFailedException) t).getResult().getAttempts();
            if (!attempts.isEmpty()) {
                Attempt last = attempts.get(attempts.size() - 1);
                return last.getErrorCode() + ": " + last.getErrorMessage()
                        + " (" + attempts.size() + " attempts)";
            }
        }
        return t.getClass().getName() + ": " + t.getMessage();
    }

    static void write(OutputStream out, Map<String, Object> fields) throws IOException {
        StringBuilder s = new StringBuilder("{");
        for (Map.Entry<String, Object> e : fields.entrySet()) {
            if (s.length() > 1) {
                s.append(',');
            }
            quote(s, e.getKey());
            s.append(':');
            Object v = e.getValue();
            if (v == null) {
                s.append("null");
            } else if (v instanceof Number || v instanceof Boolean) {
                s.append(v);
            } else {
                quote(s, v.toString());
            }
        }
        s.append("}\n");
        out.write(s.toString().getBytes(StandardCharsets.UTF_8));
        out.flush();
    }

    private static void quote(StringBuilder s, String text) {
        s.append('"');
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            switch (c) {
                case '"': s.append("\\\""); break;
                case '\\': s.append("\\\\"); break;
                case '\n': s.append("\\n"); break;
                case '\r': s.append("\\r"); break;
                case '\t': s.append("\\t"); break;
                default:
                    if (c < 0x20) {
                        s.append(String.format("\\u%04x", (int) c));
                    } else {
                        s.append(c);
                    }
            }
        }
        s.append('"');
    }

    static String env(String name, String fallback) {
        String v = System.getenv(name);
        return v == null || v.isEmpty() ? fallback : v;
    }

    static Map<String, String> parse(String[] argv) {
        Map<String, String> args = new HashMap<>();
        for (int i = 0; i < argv.length; i += 2) {
            if (!argv[i].startsWith("--") || i + 1 >= argv.length) {
                throw new IllegalArgumentException("expected --name value pairs, got " + argv[i]);
            }
            args.put(argv[i].substring(2), argv[i + 1]);
        }
        return args;
    }

    static String required(Map<String, String> args, String name) {
        String v = args.get(name);
        if (v == null) {
            throw new IllegalArgumentException("--" + name + " is required");
        }
        return v;
    }
}
