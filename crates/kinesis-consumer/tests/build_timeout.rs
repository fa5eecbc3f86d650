//! `build()` against services that accept connections but never answer gives up at its
//! deadline, under virtual time, with a message that says what was being built.

use std::time::Duration;

use kinesis_client::ClientConfig;
use kinesis_consumer::{Consumer, ConsumerErrorKind};
use kinesis_testkit::scripted::{Answer, Scripted};
use tokio::time::Instant;

#[tokio::test(start_paused = true)]
async fn build_gives_up_at_its_deadline_when_nothing_answers() {
    let http = Scripted::default().with_responder(|_| Answer::Hang);
    let config = ClientConfig::builder()
        .sdk_config(http.sdk_config())
        .build()
        .await
        .unwrap();
    let start = Instant::now();
    let err = Consumer::builder(&config, "silent", "app")
        .build_timeout(Duration::from_secs(3))
        .build()
        .await
        .unwrap_err();
    assert_eq!(start.elapsed(), Duration::from_secs(3));
    assert_eq!(err.kind(), ConsumerErrorKind::Timeout);
    assert!(err.to_string().contains("silent"), "{err}");
    assert!(!http.seen().is_empty(), "it tried");
}
