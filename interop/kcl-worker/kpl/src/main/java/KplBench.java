// The KPL as a contender of `cargo xtask bench peers`: writes --records records of 100 bytes
// (the producer benchmark's records and partition keys) through the real KPL to --kinesis-port
// over TLS, waits for every result, and prints one line:
// {"peer":"kpl","records":N,"failed":F,"secs":S}, the time from the first addUserRecord to the
// last result (the JVM's start, the daemon's start and the warm-up are outside it; the CPU time
// counted from outside includes them).

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;

import com.amazonaws.auth.AWSStaticCredentialsProvider;
import com.amazonaws.auth.BasicAWSCredentials;
import com.amazonaws.services.kinesis.producer.KinesisProducer;
import com.amazonaws.services.kinesis.producer.KinesisProducerConfiguration;
import com.amazonaws.services.kinesis.producer.UserRecordResult;

public final class KplBench {
    private KplBench() {}

    /** Distinct partition keys, as in the producer benchmark. */
    private static final long KEYS = 100_000;
    /** Payload bytes per record. */
    private static final int RECORD_BYTES = 100;

    /** splitmix64's finalizer: the benchmark's reproducible mix of n. */
    static long mix(long n) {
        long z = n + 0x9e3779b97f4a7c15L;
        z = (z ^ (z >>> 30)) * 0xbf58476d1ce4e5b9L;
        z = (z ^ (z >>> 27)) * 0x94d049bb133111ebL;
        return z ^ (z >>> 31);
    }

    static String partitionKey(long n) {
        return "user-" + Long.remainderUnsigned(mix(n), KEYS);
    }

    static byte[] payload(long n) {
        byte[] data = new byte[RECORD_BYTES];
        java.util.Arrays.fill(data, (byte) '.');
        int i = RECORD_BYTES;
        long rest = n;
        do {
            i--;
            data[i] = (byte) ('0' + (rest % 10));
            rest /= 10;
        } while (rest != 0 && i != 0);
        return data;
    }

    public static void main(String[] argv) throws Exception {
        System.setProperty("org.slf4j.simpleLogger.defaultLogLevel", "warn");
        System.setProperty("aws.java.v1.disableDeprecationAnnouncement", "true");
        Map<String, String> args = KplProducer.parse(argv);
        String stream = KplProducer.required(args, "stream");
        long records = Long.parseLong(KplProducer.required(args, "records"));
        boolean aggregate = Boolean.parseBoolean(args.getOrDefault("aggregate", "true"));
        StsStub sts = StsStub.start(args.getOrDefault("sts-account", "000000000000"));
        KinesisProducerConfiguration config = new KinesisProducerConfiguration()
                .setRegion("us-east-1")
                .setCredentialsProvider(new AWSStaticCredentialsProvider(
                        new BasicAWSCredentials("AKIDPEERBENCH", "peer-bench-secret")))
                .setKinesisEndpoint(args.getOrDefault("kinesis-host", "localhost"))
                .setKinesisPort(Long.parseLong(KplProducer.required(args, "kinesis-port")))
                .setStsEndpoint("localhost")
                .setStsPort(sts.port())
                .setVerifyCertificate(false)
                .setMetricsLevel("none")
                .setAggregationEnabled(aggregate)
                // The instant server has no per-shard limits; neither do the other contenders.
                .setRateLimit(Long.MAX_VALUE / 2)
                .setLogLevel("warning");
        KinesisProducer producer = new KinesisProducer(config);
        // Its shard map first (see KplProducer): records added before it are not aggregated.
        producer.flush(stream);
        Thread.sleep(Long.parseLong(args.getOrDefault("warmup-millis", "3000")));

        long started = System.nanoTime();
        List<Future<UserRecordResult>> results = new ArrayList<>((int) records);
        for (long n = 0; n < records; n++) {
            results.add(producer.addUserRecord(stream, partitionKey(n), ByteBuffer.wrap(payload(n))));
        }
        producer.flushSync();
        long failed = 0;
        for (Future<UserRecordResult> f : results) {
            try {
                if (!f.get().isSuccessful()) {
                    failed++;
                }
            } catch (ExecutionException e) {
                failed++;
            }
        }
        double secs = (System.nanoTime() - started) / 1e9;
        System.out.println("{\"peer\":\"kpl\",\"records\":" + (records - failed) + ",\"failed\":" + failed
                + ",\"secs\":" + secs + "}");
        producer.destroy();
        sts.stop();
        System.exit(failed == 0 ? 0 : 1);
    }
}
