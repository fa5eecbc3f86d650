//! Building a consumer from text: a stream name given as a `&str` is checked by `build()`, and
//! a bad one is refused with a message naming it before anything is sent.

mod support;

use kinesis_consumer::{Consumer, ConsumerErrorKind};
use support::Fixture;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stream_name_as_text_is_checked_at_build() {
    let fx = Fixture::new(1).await;
    let err = Consumer::builder(&fx.config, "not a stream name!", fx.app.clone())
        .build()
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ConsumerErrorKind::Usage);
    assert!(err.to_string().contains("not a stream name!"), "{err}");

    let consumer = Consumer::builder(&fx.config, fx.stream.as_str(), fx.app.clone())
        .settings(fx.settings())
        .build()
        .await
        .unwrap();
    assert_eq!(consumer.stream().to_string(), fx.stream.as_str());
    consumer.shutdown().await;
}
