// One worker of a KCL application (the real Java KCL, 2.x or 3.x: this file compiles against
// either), journaling every record, checkpoint and lease event as a JSON line. It stops
// gracefully on a line "stop" on stdin or at the end of stdin. With --expect N (a benchmark run)
// it journals no records, counts them, and exits once N arrived. See ../../../README.md.

import java.io.BufferedReader;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.lang.reflect.Method;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.http.Protocol;
import software.amazon.awssdk.http.nio.netty.NettyNioAsyncHttpClient;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.cloudwatch.CloudWatchAsyncClient;
import software.amazon.awssdk.services.dynamodb.DynamoDbAsyncClient;
import software.amazon.awssdk.services.kinesis.KinesisAsyncClient;
import software.amazon.kinesis.common.ConfigsBuilder;
import software.amazon.kinesis.common.InitialPositionInStream;
import software.amazon.kinesis.common.InitialPositionInStreamExtended;
import software.amazon.kinesis.coordinator.CoordinatorConfig;
import software.amazon.kinesis.coordinator.Scheduler;
import software.amazon.kinesis.lifecycle.events.InitializationInput;
import software.amazon.kinesis.lifecycle.events.LeaseLostInput;
import software.amazon.kinesis.lifecycle.events.ProcessRecordsInput;
import software.amazon.kinesis.lifecycle.events.ShardEndedInput;
import software.amazon.kinesis.lifecycle.events.ShutdownRequestedInput;
import software.amazon.kinesis.metrics.MetricsLevel;
import software.amazon.kinesis.processor.RecordProcessorCheckpointer;
import software.amazon.kinesis.processor.ShardRecordProcessor;
import software.amazon.kinesis.processor.SingleStreamTracker;
import software.amazon.kinesis.retrieval.KinesisClientRecord;
import software.amazon.kinesis.retrieval.RetrievalConfig;
import software.amazon.kinesis.retrieval.polling.PollingConfig;

public final class KclWorker {
    private static final long GRACEFUL_SHUTDOWN_SECONDS = 30;

    private static Journal journal;
    private static long checkpointEvery;
    /** With --expect: the records to count before exiting (0: not a benchmark run). */
    private static long expect;
    private static final AtomicLong counted = new AtomicLong();
    private static volatile long firstMillis;

    private KclWorker() {}

    public static void main(String[] argv) throws Exception {
        // The KCL's own log (slf4j-simple) goes to stderr, INFO and above.
        System.setProperty("org.slf4j.simpleLogger.defaultLogLevel", "info");
        System.setProperty("org.slf4j.simpleLogger.showDateTime", "true");
        System.setProperty("org.slf4j.simpleLogger.dateTimeFormat", "HH:mm:ss.SSS");
        System.setProperty("org.slf4j.simpleLogger.log.io.netty", "warn");

        Map<String, String> args = parse(argv);
        String application = required(args, "application");
        String stream = required(args, "stream");
        String workerId = required(args, "worker-id");
        String output = required(args, "output");
        String kinesisEndpoint = args.getOrDefault("kinesis-endpoint", "http://127.0.0.1:4568");
        String dynamoEndpoint = args.getOrDefault("dynamodb-endpoint", "http://127.0.0.1:4566");
        // Metrics are off unless a level is given; the CloudWatch client never leaves the machine.
        String cloudWatchEndpoint = args.getOrDefault("cloudwatch-endpoint", dynamoEndpoint);
        MetricsLevel metricsLevel = MetricsLevel.fromName(args.getOrDefault("metrics-level", "NONE"));
        long metricsBufferMillis = number(args, "metrics-buffer-millis", 10_000);
        Region region = Region.of(args.getOrDefault("region", "us-east-1"));
        InitialPositionInStream position =
                InitialPositionInStream.valueOf(args.getOrDefault("initial-position", "TRIM_HORIZON"));
        long failoverMillis = number(args, "failover-millis", 10_000);
        long idleMillis = number(args, "idle-millis", 200);
        long shardSyncMillis = number(args, "shard-sync-millis", 2_000);
        checkpointEvery = Math.max(1, number(args, "checkpoint-every", 10));
        expect = number(args, "expect", 0);
        journal = new Journal(output, workerId);
        String kclVersion = kclVersion();
        // The client version of KCL 3.x: the 2.x-compatible one unless told otherwise.
        String kcl3Mode = args.getOrDefault("kcl3-mode", kclVersion.startsWith("2.") ? null : "compatible");

        StaticCredentialsProvider credentials = StaticCredentialsProvider.create(AwsBasicCredentials.create(
                env("AWS_ACCESS_KEY_ID", "AKIDEMULATORFAKE"),
                env("AWS_SECRET_ACCESS_KEY", "emulator-fake-secret")));
        KinesisAsyncClient kinesis = KinesisAsyncClient.builder()
                .region(region)
                .credentialsProvider(credentials)
                .endpointOverride(URI.create(kinesisEndpoint))
                .httpClientBuilder(NettyNioAsyncHttpClient.builder()
                        .protocol(Protocol.HTTP1_1)
                        .maxConcurrency(64))
                .build();
        DynamoDbAsyncClient dynamo = DynamoDbAsyncClient.builder()
                .region(region)
                .credentialsProvider(credentials)
                .endpointOverride(URI.create(dynamoEndpoint))
                .httpClientBuilder(NettyNioAsyncHttpClient.builder().protocol(Protocol.HTTP1_1))
                .build();
        CloudWatchAsyncClient cloudWatch = CloudWatchAsyncClient.builder()
                .region(region)
                .credentialsProvider(credentials)
                .endpointOverride(URI.create(cloudWatchEndpoint))
                .httpClientBuilder(NettyNioAsyncHttpClient.builder().protocol(Protocol.HTTP1_1))
                .build();

        SingleStreamTracker tracker = new SingleStreamTracker(
                stream, InitialPositionInStreamExtended.newInitialPosition(position));
        ConfigsBuilder configs = new ConfigsBuilder(
                tracker, application, kinesis, dynamo, cloudWatch, workerId, Processor::new);

        CoordinatorConfig coordinator = configs.coordinatorConfig();
        if (kcl3Mode != null) {
            setClientVersion(coordinator, kcl3Mode);
        }
        Scheduler scheduler = new Scheduler(
                configs.checkpointConfig(),
                coordinator,
                configs.leaseManagementConfig()
                        .failoverTimeMillis(failoverMillis)
                        .shardSyncIntervalMillis(shardSyncMillis),
                configs.lifecycleConfig(),
                configs.metricsConfig()
                        .metricsLevel(metricsLevel)
                        .metricsBufferTimeMillis(metricsBufferMillis),
                configs.processorConfig(),
                configs.retrievalConfig().retrievalSpecificConfig(
                        new PollingConfig(stream, kinesis).idleTimeBetweenReadsInMillis(idleMillis)));

        Map<String, Object> started = new LinkedHashMap<>();
        started.put("kcl", kclVersion);
        if (kcl3Mode != null) {
            started.put("kcl3_mode", kcl3Mode);
        }
        journal.write("started", started);

        // Released by a stop request, or by the scheduler ending on its own.
        CountDownLatch stop = new CountDownLatch(1);
        AtomicBoolean stopRequested = new AtomicBoolean();
        Thread stdin = new Thread(() -> {
            try (BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8))) {
                String line;
                while ((line = in.readLine()) != null && !line.trim().equals("stop")) {
                    // Other lines are ignored.
                }
            } catch (IOException e) {
                // A broken stdin counts as its end.
            }
            stopRequested.set(true);
            stop.countDown();
        }, "stdin");
        stdin.setDaemon(true);
        stdin.start();

        Thread worker = new Thread(() -> {
            try {
                scheduler.run();
            } finally {
                stop.countDown();
            }
        }, "scheduler");
        worker.setDaemon(true);
        worker.start();

        stop.await();
        int exit;
        if (!stopRequested.get()) {
            // The scheduler ended by itself (it could not initialize, or it was shut down).
            journal.write("stopped", fields("error", "the scheduler ended before a stop was requested"));
            exit = 1;
        } else {
            journal.write("stop_requested", new LinkedHashMap<>());
            boolean graceful;
            try {
                graceful = scheduler.startGracefulShutdown().get(GRACEFUL_SHUTDOWN_SECONDS, TimeUnit.SECONDS);
            } catch (Exception e) {
                System.err.println("graceful shutdown did not complete: " + describe(e));
                graceful = false;
            }
            if (!graceful) {
                // KCL 2.x can wait forever here (e.g. for the processor of a shard that has
                // ended); the shutdownRequested checkpoints are done by then.
                scheduler.shutdown();
            }
            journal.write("stopped", fields("graceful", graceful));
            exit = 0;
        }
        journal.close();
        // Netty's event loops are not daemon threads; the journal is complete, so leave now.
        System.exit(exit);
    }

    /** Selects the KCL 3.x client version (absent from 2.x, hence by reflection). */
    private static void setClientVersion(CoordinatorConfig coordinator, String mode) throws Exception {
        String constant;
        switch (mode) {
            case "compatible": constant = "CLIENT_VERSION_CONFIG_COMPATIBLE_WITH_2X"; break;
            case "3x": constant = "CLIENT_VERSION_CONFIG_3X"; break;
            default: throw new IllegalArgumentException("--kcl3-mode takes compatible or 3x, got " + mode);
        }
        Class<?> type;
        try {
            type = Class.forName("software.amazon.kinesis.coordinator.CoordinatorConfig$ClientVersionConfig");
        } catch (ClassNotFoundException e) {
            throw new IllegalArgumentException("--kcl3-mode needs KCL 3.x on the classpath; found " + kclVersion());
        }
        Object value = null;
        for (Object c : type.getEnumConstants()) {
            if (((Enum<?>) c).name().equals(constant)) {
                value = c;
            }
        }
        Method setter = CoordinatorConfig.class.getMethod("clientVersionConfig", type);
        setter.invoke(coordinator, value);
    }

    /** The KCL's version, read at run time (the constant would be inlined by javac). */
    private static String kclVersion() {
        try {
            return (String) RetrievalConfig.class.getField("KINESIS_CLIENT_LIB_USER_AGENT_VERSION").get(null);
        } catch (ReflectiveOperationException e) {
            String v = RetrievalConfig.class.getPackage().getImplementationVersion();
            return v == null ? "unknown" : v;
        }
    }

    /** The processor of one shard lease; the KCL calls it from one thread at a time. */
    private static final class Processor implements ShardRecordProcessor {
        private String shard;
        private String lastSequence;
        private long lastSubsequence;
        private long sinceCheckpoint;

        @Override
        public void initialize(InitializationInput input) {
            shard = input.shardId();
            Map<String, Object> f = shardFields();
            f.put("sequence", input.extendedSequenceNumber().sequenceNumber());
            f.put("subsequence", input.extendedSequenceNumber().subSequenceNumber());
            journal.write("initialized", f);
        }

        @Override
        public void processRecords(ProcessRecordsInput input) {
            if (expect > 0) {
                count(input.records().size());
                return;
            }
            for (KinesisClientRecord r : input.records()) {
                Map<String, Object> f = shardFields();
                f.put("sequence", r.sequenceNumber());
                f.put("subsequence", r.subSequenceNumber());
                f.put("partition_key", r.partitionKey());
                f.put("data", StandardCharsets.UTF_8.decode(r.data().duplicate()).toString());
                journal.write("record", f);
                lastSequence = r.sequenceNumber();
                lastSubsequence = r.subSequenceNumber();
                if (++sinceCheckpoint >= checkpointEvery) {
                    checkpoint(input.checkpointer());
                }
            }
        }

        @Override
        public void leaseLost(LeaseLostInput input) {
            journal.write("lease_lost", shardFields());
        }

        @Override
        public void shardEnded(ShardEndedInput input) {
            journal.write("shard_ended", shardFields());
            try {
                input.checkpointer().checkpoint();
                Map<String, Object> f = shardFields();
                f.put("sequence", "SHARD_END");
                f.put("subsequence", 0L);
                journal.write("checkpoint", f);
            } catch (Exception e) {
                failed(e);
            }
        }

        @Override
        public void shutdownRequested(ShutdownRequestedInput input) {
            journal.write("shutdown_requested", shardFields());
            if (sinceCheckpoint > 0) {
                checkpoint(input.checkpointer());
            }
        }

        /** Checkpoints at the last record processed. */
        private void checkpoint(RecordProcessorCheckpointer checkpointer) {
            try {
                checkpointer.checkpoint(lastSequence, lastSubsequence);
                sinceCheckpoint = 0;
                Map<String, Object> f = shardFields();
                f.put("sequence", lastSequence);
                f.put("subsequence", lastSubsequence);
                journal.write("checkpoint", f);
            } catch (Exception e) {
                failed(e);
            }
        }

        private void failed(Exception e) {
            Map<String, Object> f = shardFields();
            f.put("sequence", lastSequence);
            f.put("subsequence", lastSubsequence);
            f.put("error", describe(e));
            journal.write("checkpoint_failed", f);
        }

        private Map<String, Object> shardFields() {
            return fields("shard", shard);
        }
    }

    /** JSON lines appended to a file, each flushed when written; shared by every thread. */
    /** A benchmark run: counts records; prints the result and exits once all arrived. */
    private static void count(int records) {
        if (records == 0) {
            return;
        }
        long before = counted.getAndAdd(records);
        if (before == 0) {
            firstMillis = System.currentTimeMillis();
        }
        if (before < expect && before + records >= expect) {
            long last = System.currentTimeMillis();
            System.out.println("{\"peer\":\"kcl\",\"records\":" + (before + records)
                    + ",\"first_ms\":" + firstMillis + ",\"last_ms\":" + last + "}");
            System.out.flush();
            try {
                journal.close();
            } catch (IOException e) {
                System.err.println("cannot close the journal: " + e);
            }
            Runtime.getRuntime().halt(0);
        }
    }

    private static final class Journal {
        private final OutputStream out;
        private final String worker;

        Journal(String path, String worker) throws IOException {
            this.out = new FileOutputStream(path, true);
            this.worker = worker;
        }

        synchronized void write(String event, Map<String, Object> fields) {
            Map<String, Object> line = new LinkedHashMap<>();
            line.put("event", event);
            line.put("worker", worker);
            line.putAll(fields);
            line.put("time_ms", System.currentTimeMillis());
            try {
                out.write(json(line).getBytes(StandardCharsets.UTF_8));
                out.flush();
            } catch (IOException e) {
                System.err.println("cannot write the journal: " + e);
            }
        }

        synchronized void close() throws IOException {
            out.close();
        }
    }

    private static String json(Map<String, Object> fields) {
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
        return s.append("}\n").toString();
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

    private static Map<String, Object> fields(String name, Object value) {
        Map<String, Object> f = new LinkedHashMap<>();
        f.put(name, value);
        return f;
    }

    private static String describe(Throwable t) {
        Throwable cause = t;
        while (cause.getCause() != null
                && (cause instanceof java.util.concurrent.ExecutionException
                        || cause instanceof java.util.concurrent.CompletionException)) {
            cause = cause.getCause();
        }
        return cause.getClass().getName() + ": " + cause.getMessage();
    }

    private static String env(String name, String fallback) {
        String v = System.getenv(name);
        return v == null || v.isEmpty() ? fallback : v;
    }

    private static Map<String, String> parse(String[] argv) {
        Map<String, String> args = new HashMap<>();
        for (int i = 0; i < argv.length; i += 2) {
            if (!argv[i].startsWith("--") || i + 1 >= argv.length) {
                throw new IllegalArgumentException("expected --name value pairs, got " + argv[i]);
            }
            args.put(argv[i].substring(2), argv[i + 1]);
        }
        return args;
    }

    private static String required(Map<String, String> args, String name) {
        String v = args.get(name);
        if (v == null) {
            throw new IllegalArgumentException("--" + name + " is required");
        }
        return v;
    }

    private static long number(Map<String, String> args, String name, long fallback) {
        String v = args.get(name);
        return v == null ? fallback : Long.parseLong(v);
    }
}
