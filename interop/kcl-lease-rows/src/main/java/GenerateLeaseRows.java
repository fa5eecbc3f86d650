// Writes lease-table items exactly as the Java KCL serializes them, as test vectors for the Rust
// lease row (crates/kinesis-kcl-compat/tests/lease_kcl_vectors.rs). Run with ./generate.sh.

import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import software.amazon.awssdk.services.dynamodb.model.AttributeAction;
import software.amazon.awssdk.services.dynamodb.model.AttributeValue;
import software.amazon.awssdk.services.dynamodb.model.AttributeValueUpdate;
import software.amazon.kinesis.common.HashKeyRangeForLease;
import software.amazon.kinesis.leases.Lease;
import software.amazon.kinesis.leases.MultiStreamLease;
import software.amazon.kinesis.leases.dynamodb.DynamoDBLeaseSerializer;
import software.amazon.kinesis.leases.dynamodb.DynamoDBMultiStreamLeaseSerializer;
import software.amazon.kinesis.retrieval.kpl.ExtendedSequenceNumber;

public final class GenerateLeaseRows {
    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
    private static final DynamoDBLeaseSerializer SINGLE = new DynamoDBLeaseSerializer();
    private static final DynamoDBMultiStreamLeaseSerializer MULTI = new DynamoDBMultiStreamLeaseSerializer();
    private static final BigInteger MAX_HASH = BigInteger.TWO.pow(128).subtract(BigInteger.ONE);
    private static final BigInteger HALF = BigInteger.TWO.pow(127);
    private static final String SEQ =
            "49590338271490256608559692538361571095921575989136588898";

    public static void main(String[] args) throws Exception {
        ArrayNode vectors = JSON.createArrayNode();

        // A new lease as the shard syncer creates it: unowned, at the initial position.
        Lease fresh = new Lease();
        fresh.leaseKey("shardId-000000000000");
        fresh.checkpoint(ExtendedSequenceNumber.TRIM_HORIZON);
        fresh.hashKeyRange(new HashKeyRangeForLease(BigInteger.ZERO, MAX_HASH));
        vectors.add(vector("new-unowned-trim-horizon", "toDynamoRecord of a new root lease", SINGLE.toDynamoRecord(fresh)));

        Lease latest = new Lease();
        latest.leaseKey("shardId-000000000001");
        latest.leaseOwner("worker-a");
        latest.leaseCounter(1L);
        latest.checkpoint(ExtendedSequenceNumber.LATEST);
        latest.hashKeyRange(new HashKeyRangeForLease(BigInteger.ZERO, HALF.subtract(BigInteger.ONE)));
        vectors.add(vector("owned-latest", "toDynamoRecord, owned, LATEST", SINGLE.toDynamoRecord(latest)));

        Lease atTimestamp = new Lease();
        atTimestamp.leaseKey("shardId-000000000002");
        atTimestamp.checkpoint(ExtendedSequenceNumber.AT_TIMESTAMP);
        vectors.add(vector("at-timestamp-no-hash-range", "toDynamoRecord, AT_TIMESTAMP, no hash keys (pre-2.3 style)", SINGLE.toDynamoRecord(atTimestamp)));

        // A busy lease: checkpointed inside an aggregate, merged from two parents, KCL 3 fields.
        Lease busy = new Lease();
        busy.leaseKey("shardId-000000000007");
        busy.leaseOwner("worker-b");
        busy.leaseCounter(9_007_199_254_740_993L);
        busy.checkpoint(new ExtendedSequenceNumber(SEQ, 3L));
        busy.pendingCheckpoint(new ExtendedSequenceNumber(SEQ + "1", 0L));
        busy.ownerSwitchesSinceCheckpoint(2L);
        busy.parentShardIds(List.of("shardId-000000000003", "shardId-000000000004"));
        busy.hashKeyRange(new HashKeyRangeForLease(HALF, MAX_HASH));
        busy.throughputKBps(12.5);
        busy.checkpointOwner("worker-a");
        vectors.add(vector("busy-kcl3", "toDynamoRecord with pending checkpoint, two parents, throughput, checkpointOwner", SINGLE.toDynamoRecord(busy)));

        // Shard end: SHARD_END with the children recorded.
        Lease ended = new Lease();
        ended.leaseKey("shardId-000000000003");
        ended.leaseOwner("worker-a");
        ended.leaseCounter(42L);
        ended.checkpoint(ExtendedSequenceNumber.SHARD_END);
        ended.parentShardIds(List.of("shardId-000000000000"));
        ended.childShardIds(List.of("shardId-000000000007"));
        ended.hashKeyRange(new HashKeyRangeForLease(BigInteger.ZERO, HALF.subtract(BigInteger.ONE)));
        ended.throughputKBps(0.001);
        vectors.add(vector("shard-end-with-children", "toDynamoRecord at SHARD_END", SINGLE.toDynamoRecord(ended)));

        // The oddity: toDynamoRecord writes the checkpoint's sub-sequence number (N) as
        // pendingCheckpointState, the update path writes the bytes (B).
        Lease withState = new Lease();
        withState.leaseKey("shardId-000000000005");
        withState.leaseOwner("worker-c");
        withState.leaseCounter(5L);
        withState.checkpoint(new ExtendedSequenceNumber(SEQ, 7L));
        withState.pendingCheckpoint(new ExtendedSequenceNumber(SEQ + "9", 1L));
        withState.pendingCheckpointState("app-state".getBytes(StandardCharsets.UTF_8));
        Map<String, AttributeValue> stateRecord = SINGLE.toDynamoRecord(withState);
        vectors.add(vector("pending-state-as-number", "toDynamoRecord writes pendingCheckpointState as N", stateRecord));
        vectors.add(vector(
                "pending-state-after-checkpoint-update",
                "the same row after getDynamoUpdateLeaseUpdate + getDynamoLeaseCounterUpdate (pendingCheckpointState as B)",
                apply(apply(stateRecord, SINGLE.getDynamoUpdateLeaseUpdate(withState)), SINGLE.getDynamoLeaseCounterUpdate(withState))));

        // A take by another worker: leaseOwner PUT, ownerSwitchesSinceCheckpoint ADD 1, counter + 1.
        Map<String, AttributeValue> taken = apply(
                apply(SINGLE.toDynamoRecord(latest), SINGLE.getDynamoTakeLeaseUpdate(latest, "worker-z")),
                SINGLE.getDynamoLeaseCounterUpdate(latest));
        vectors.add(vector("taken-by-other-worker", "owned-latest after getDynamoTakeLeaseUpdate + counter update", taken));

        // A checkpoint update that clears the pending checkpoint.
        busy.pendingCheckpoint(null);
        busy.checkpoint(new ExtendedSequenceNumber(SEQ + "0", 0L));
        busy.ownerSwitchesSinceCheckpoint(0L);
        Map<String, AttributeValue> checkpointed = apply(
                apply(SINGLE.toDynamoRecord(busy), SINGLE.getDynamoUpdateLeaseUpdate(busy)),
                SINGLE.getDynamoLeaseCounterUpdate(busy));
        vectors.add(vector("checkpointed-pending-cleared", "busy-kcl3 after a checkpoint update that deletes the pending fields", checkpointed));

        // Multi-stream leases.
        MultiStreamLease multi = new MultiStreamLease();
        multi.streamIdentifier("123456789012:orders-v2:1700000000");
        multi.shardId("shardId-000000000336");
        multi.leaseKey(MultiStreamLease.getLeaseKey(multi.streamIdentifier(), multi.shardId()));
        multi.leaseOwner("worker-m");
        multi.leaseCounter(3L);
        multi.checkpoint(new ExtendedSequenceNumber(SEQ, 0L));
        multi.parentShardIds(List.of("shardId-000000000100"));
        multi.hashKeyRange(new HashKeyRangeForLease(BigInteger.valueOf(1000), MAX_HASH));
        vectors.add(vector("multi-stream", "DynamoDBMultiStreamLeaseSerializer.toDynamoRecord", MULTI.toDynamoRecord(multi)));

        MultiStreamLease multiNew = new MultiStreamLease();
        multiNew.streamIdentifier("111111111:multiStreamTest-1:12345");
        multiNew.shardId("shardId-000000000000");
        multiNew.leaseKey(MultiStreamLease.getLeaseKey(multiNew.streamIdentifier(), multiNew.shardId()));
        multiNew.checkpoint(ExtendedSequenceNumber.TRIM_HORIZON);
        vectors.add(vector("multi-stream-new", "multi-stream lease as in the KCL docs' example", MULTI.toDynamoRecord(multiNew)));

        System.out.println(JSON.writeValueAsString(vectors));
    }

    private static ObjectNode vector(String name, String description, Map<String, AttributeValue> item) {
        ObjectNode v = JSON.createObjectNode();
        v.put("name", name);
        v.put("description", description);
        ObjectNode itemJson = v.putObject("item");
        for (Map.Entry<String, AttributeValue> e : new TreeMap<>(item).entrySet()) {
            itemJson.set(e.getKey(), attr(e.getValue()));
        }
        // What the KCL itself reads back from the item (or why it cannot).
        ObjectNode kcl = v.putObject("kcl_reads");
        try {
            Lease lease = item.containsKey("shardId") ? MULTI.fromDynamoRecord(item) : SINGLE.fromDynamoRecord(item);
            kcl.put("leaseKey", lease.leaseKey());
            kcl.put("leaseOwner", lease.leaseOwner());
            kcl.put("leaseCounter", lease.leaseCounter());
            kcl.put("checkpoint", lease.checkpoint().sequenceNumber());
            kcl.put("checkpointSubSequenceNumber", lease.checkpoint().subSequenceNumber());
            if (lease.pendingCheckpoint() != null) {
                kcl.put("pendingCheckpoint", lease.pendingCheckpoint().sequenceNumber());
                kcl.put("pendingCheckpointSubSequenceNumber", lease.pendingCheckpoint().subSequenceNumber());
            }
            if (lease.pendingCheckpointState() != null) {
                kcl.put("pendingCheckpointState", Base64.getEncoder().encodeToString(lease.pendingCheckpointState()));
            }
            kcl.put("ownerSwitchesSinceCheckpoint", lease.ownerSwitchesSinceCheckpoint());
            ArrayNode parents = kcl.putArray("parentShardIds");
            lease.parentShardIds().stream().sorted().forEach(parents::add);
            ArrayNode children = kcl.putArray("childShardIds");
            lease.childShardIds().stream().sorted().forEach(children::add);
            if (lease.hashKeyRangeForLease() != null) {
                kcl.put("startingHashKey", lease.hashKeyRangeForLease().serializedStartingHashKey());
                kcl.put("endingHashKey", lease.hashKeyRangeForLease().serializedEndingHashKey());
            }
            if (lease.throughputKBps() != null) {
                kcl.put("throughputKBps", lease.throughputKBps());
            }
            kcl.put("checkpointOwner", lease.checkpointOwner());
            if (lease instanceof MultiStreamLease) {
                kcl.put("streamIdentifier", ((MultiStreamLease) lease).streamIdentifier());
                kcl.put("shardId", ((MultiStreamLease) lease).shardId());
            }
        } catch (RuntimeException e) {
            kcl.removeAll();
            kcl.put("error", e.getClass().getSimpleName());
        }
        return v;
    }

    private static ObjectNode attr(AttributeValue value) {
        ObjectNode a = JSON.createObjectNode();
        if (value.s() != null) {
            a.put("S", value.s());
        } else if (value.n() != null) {
            a.put("N", value.n());
        } else if (value.b() != null) {
            a.put("B", Base64.getEncoder().encodeToString(value.b().asByteArray()));
        } else if (value.hasSs()) {
            ArrayNode ss = a.putArray("SS");
            value.ss().stream().sorted().forEach(ss::add);
        } else {
            throw new IllegalArgumentException("unexpected attribute value " + value);
        }
        return a;
    }

    /** Applies legacy AttributeUpdates (PUT / DELETE / ADD on numbers) to an item, as DynamoDB does. */
    private static Map<String, AttributeValue> apply(
            Map<String, AttributeValue> item, Map<String, AttributeValueUpdate> updates) {
        Map<String, AttributeValue> out = new TreeMap<>(item);
        for (Map.Entry<String, AttributeValueUpdate> e : updates.entrySet()) {
            AttributeValueUpdate u = e.getValue();
            AttributeAction action = u.action() == null ? AttributeAction.PUT : u.action();
            switch (action) {
                case PUT:
                    out.put(e.getKey(), u.value());
                    break;
                case DELETE:
                    out.remove(e.getKey());
                    break;
                case ADD:
                    AttributeValue old = out.get(e.getKey());
                    BigInteger base = old == null ? BigInteger.ZERO : new BigInteger(old.n());
                    out.put(e.getKey(), AttributeValue.builder()
                            .n(base.add(new BigInteger(u.value().n())).toString())
                            .build());
                    break;
                default:
                    throw new IllegalArgumentException("unexpected action " + action);
            }
        }
        return out;
    }

    private GenerateLeaseRows() {}
}
