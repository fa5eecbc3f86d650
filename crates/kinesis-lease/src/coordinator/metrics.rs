//! The coordinator's metrics, under the KCL's names (`kinesis_kcl_compat::metrics`): what one
//! renew pass, take pass, discovery pass or assignment run reports, with the `Operation` and
//! `WorkerIdentifier` dimensions the KCL gives them.

use std::time::Duration;

use kinesis_client::Telemetry;
use kinesis_client::telemetry::MetricsLevel::{Detailed, Summary};
use kinesis_kcl_compat::metrics::{
    Unit, dimension, lease_assignment_manager as lam, lease_discovery as ld,
    lease_renewer_initialize as lri, process_task, renew_all_leases as renew, shard_sync_task,
    shutdown_task, take_leases as take,
};
use tokio::time::Instant;

/// Unreadable rows of the lease table at a scan (`Operation` = `TakeLeases`, per worker; not a
/// KCL metric: the KCL's scan fails on such a row).
pub(super) const CORRUPT_LEASE_ROWS: &str = "CorruptLeaseRows";

/// Reports one operation's metrics, with the worker's identifier or without.
pub(super) struct Scope<'a> {
    telemetry: &'a Telemetry,
    dims: [(&'static str, &'a str); 2],
    /// How many of `dims` apply.
    len: usize,
    started: Instant,
}

impl<'a> Scope<'a> {
    pub(super) fn new(
        telemetry: &'a Telemetry,
        operation: &'static str,
        worker_id: Option<&'a str>,
    ) -> Self {
        Self {
            telemetry,
            dims: [
                (dimension::OPERATION, operation),
                (dimension::WORKER_IDENTIFIER, worker_id.unwrap_or_default()),
            ],
            len: if worker_id.is_some() { 2 } else { 1 },
            started: Instant::now(),
        }
    }

    fn dims(&self) -> &[(&'static str, &'a str)] {
        &self.dims[..self.len]
    }

    /// Whether anything at SUMMARY is kept (the cheapest check before counting).
    pub(super) fn enabled(&self) -> bool {
        self.telemetry.is_enabled(Summary)
    }

    pub(super) fn count(
        &self,
        level: kinesis_client::telemetry::MetricsLevel,
        name: &str,
        n: usize,
    ) {
        self.telemetry
            .gauge(level, name, Unit::Count, self.dims(), n as f64);
    }

    /// `<prefix>.Success` and `<prefix>.Time` of one call that started at `started`.
    pub(super) fn call(&self, success: &str, time: &str, started: Instant, ok: bool) {
        self.telemetry.success(Detailed, success, self.dims(), ok);
        self.time(time, started);
    }

    /// `<prefix>.Time` (DETAILED) of a step that started at `started`.
    pub(super) fn time(&self, time: &str, started: Instant) {
        self.telemetry
            .time(Detailed, time, self.dims(), started.elapsed());
    }

    /// The operation's own `Success` and `Time` (SUMMARY), since the scope began.
    pub(super) fn finish(self, ok: bool) {
        self.telemetry.success(
            Summary,
            kinesis_kcl_compat::metrics::SUCCESS,
            self.dims(),
            ok,
        );
        self.telemetry.time(
            Summary,
            kinesis_kcl_compat::metrics::TIME,
            self.dims(),
            self.started.elapsed(),
        );
    }
}

pub(super) fn renew_scope<'a>(t: &'a Telemetry, worker: &'a str) -> Scope<'a> {
    Scope::new(t, renew::OPERATION, Some(worker))
}

pub(super) fn take_scope<'a>(t: &'a Telemetry, worker: &'a str) -> Scope<'a> {
    Scope::new(t, take::OPERATION, Some(worker))
}

pub(super) fn discovery_scope<'a>(t: &'a Telemetry, worker: &'a str) -> Scope<'a> {
    Scope::new(t, ld::OPERATION, Some(worker))
}

/// Creating leases for new shards: per application, as the KCL's `ShardSyncTask`.
pub(super) fn shard_sync_scope(t: &Telemetry) -> Scope<'_> {
    Scope::new(t, shard_sync_task::OPERATION, None)
}

/// The leader's assignment run: per application, no worker dimension (as the KCL).
pub(super) fn assignment_scope(t: &Telemetry) -> Scope<'_> {
    Scope::new(t, lam::OPERATION, None)
}

/// What the KCL 2.x taker computes before it takes (`computeLeasesToTake`), from the scan.
#[derive(Debug, Default)]
pub(super) struct TakeFigures {
    pub(super) total: usize,
    pub(super) expired: usize,
    pub(super) workers: usize,
    pub(super) held: usize,
    pub(super) very_old: usize,
    pub(super) max_for_worker: usize,
}

impl TakeFigures {
    /// Reports `NumWorkers`, `TotalLeases`, `ExpiredLeases`, `NeededLeases`, `LeaseSpillover`,
    /// `VeryOldLeases` and `LeasesToTake` as the KCL computes them.
    pub(super) fn report(&self, scope: &Scope<'_>, to_take: usize) {
        if !scope.enabled() {
            return;
        }
        let workers = self.workers.max(1);
        let (target, spillover) = if self.total == 0 {
            (0, 0)
        } else if workers >= self.total {
            (1, 0)
        } else {
            let target = self.total.div_ceil(workers);
            let spillover = target.saturating_sub(self.max_for_worker);
            (target.min(self.max_for_worker), spillover)
        };
        scope.count(Summary, take::EXPIRED_LEASES, self.expired);
        scope.count(Summary, take::LEASE_SPILLOVER, spillover);
        scope.count(Detailed, take::LEASES_TO_TAKE, to_take);
        scope.count(
            Detailed,
            take::NEEDED_LEASES,
            target.saturating_sub(self.held),
        );
        scope.count(Summary, take::NUM_WORKERS, workers);
        scope.count(Detailed, take::TOTAL_LEASES, self.total);
        scope.count(Summary, take::VERY_OLD_LEASES, self.very_old);
    }
}

/// The KCL's multiplier of the lease duration past which a lease is "very old".
pub(super) const VERY_OLD_MULTIPLIER: u32 = 3;

pub(super) fn is_very_old(last_change: Option<Instant>, failover: Duration, now: Instant) -> bool {
    last_change.is_none_or(|c| now.saturating_duration_since(c) > failover * VERY_OLD_MULTIPLIER)
}

/// One checkpoint write: `UpdateLease.Success` / `.Time` (DETAILED) of the shard's
/// `ProcessTask`, or of its `ShutdownTask` for the `SHARD_END` checkpoint.
pub(super) fn checkpoint_write(
    telemetry: &Telemetry,
    shard_id: &str,
    is_final: bool,
    started: Instant,
    ok: bool,
) {
    if !telemetry.is_enabled(Detailed) {
        return;
    }
    let (operation, success, time) = if is_final {
        (
            shutdown_task::OPERATION,
            shutdown_task::UPDATE_LEASE_SUCCESS,
            shutdown_task::UPDATE_LEASE_TIME,
        )
    } else {
        (
            process_task::OPERATION,
            process_task::UPDATE_LEASE_SUCCESS,
            process_task::UPDATE_LEASE_TIME,
        )
    };
    let dims = [
        (dimension::OPERATION, operation),
        (dimension::SHARD_ID, shard_id),
    ];
    telemetry.success(Detailed, success, &dims, ok);
    telemetry.time(Detailed, time, &dims, started.elapsed());
}

/// `CreateLease_<position>.Success` (DETAILED): the starting position of a created lease, as
/// the KCL's shard syncer names it (`TRIM_HORIZON`, `LATEST`, `AT_TIMESTAMP`, or
/// `SEQUENCE_NUMBER` for a child that starts after a checkpoint).
pub(super) fn created_at(scope: &Scope<'_>, checkpoint: &kinesis_kcl_compat::sequence::Checkpoint) {
    if !scope.telemetry.is_enabled(Detailed) {
        return;
    }
    let position = checkpoint
        .sentinel()
        .map_or("SEQUENCE_NUMBER", |s| s.as_str());
    let name = format!("CreateLease_{position}.Success");
    scope.telemetry.success(Detailed, &name, scope.dims(), true);
}

/// `LeaseRenewerInitialize` `Fault` (DETAILED): whether loading this worker's leases at start
/// failed.
pub(super) fn lease_renewer_initialize(telemetry: &Telemetry, loaded: bool) {
    let dims = [(dimension::OPERATION, lri::OPERATION)];
    telemetry.count(Detailed, lri::FAULT, &dims, u64::from(!loaded));
}
