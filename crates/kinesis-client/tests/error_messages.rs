//! An error's message says its cause, so that an application that logs only `to_string()`
//! learns what happened: a refused connection says so, a missing stream is named.

use kinesis_client::{Client, ClientConfig, ErrorKind, RetryConfig, StreamId};
use kinesis_testkit::TestEnv;

#[tokio::test]
async fn a_refused_connection_says_so() {
    // A port nothing listens on: bound, then closed.
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let config = ClientConfig::builder()
        .region("us-east-1")
        .static_credentials("AKIDEXAMPLE", "secret")
        .endpoint_url(format!("http://127.0.0.1:{port}"))
        .retry(RetryConfig::disabled())
        .build()
        .await
        .unwrap();
    let err = Client::new(&config)
        .describe_stream_summary("orders".parse::<StreamId>().unwrap())
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Transient, "{err}");
    assert!(
        !err.is_outcome_unknown(),
        "a refused connection sent nothing: {err}"
    );
    let message = err.to_string();
    assert!(message.starts_with("DescribeStreamSummary: "), "{message}");
    assert!(
        message.to_lowercase().contains("connection refused"),
        "the cause is in the message: {message}"
    );
}

#[tokio::test]
async fn a_missing_stream_is_named() {
    let env = TestEnv::start().await;
    let config = ClientConfig::builder()
        .sdk_config(env.sdk_config())
        .build()
        .await
        .unwrap();
    let missing = env.unique_name("missing");
    let err = Client::new(&config)
        .describe_stream_summary(missing.parse::<StreamId>().unwrap())
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound, "{err}");
    assert!(err.to_string().contains(&missing), "{err}");
}
