//! What the scenarios share.

#![allow(dead_code, unreachable_pub)]

use std::time::Duration;

use kcl_fleet::fleet::Fleet;
use kcl_fleet::process;

/// The failover time of every worker in the scenarios (the KCL's default is 10 s; shorter keeps
/// the tier quick, and every timing below derives from it as in the KCL).
pub const FAILOVER: Duration = Duration::from_secs(5);

/// A fresh fleet, or `None` (with a line saying why) outside the `kcl` tier.
pub async fn fleet(label: &str, shards: u32) -> Option<Fleet> {
    if !process::tier_configured() {
        eprintln!(
            "skipped {label}: the Java KCL harness is not configured (KCL_FLEET_KCL2_CLASSPATH); `cargo xtask test --tier kcl` builds it and runs this"
        );
        return None;
    }
    Some(Fleet::new(label, shards, FAILOVER, env!("CARGO_BIN_EXE_kcl-fleet")).await)
}

/// Fails the scenario with the logs' paths.
pub fn fail(fleet: &Fleet, what: &str) -> ! {
    panic!(
        "{what}\naccounting: {}\nlogs in {}",
        fleet.account().summary(),
        kcl_fleet::fleet::out_dir()
            .join(fleet.application())
            .display()
    )
}
