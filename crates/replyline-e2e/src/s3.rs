//! An S3-compatible store for tests: `moto_server` (PyPI `moto[server]`) on a
//! free local port with one bucket; stopped when dropped.

use std::process::Stdio;
use std::time::Duration;

use tokio::process::{Child, Command};

/// How long `moto_server` may take to answer.
const START_TIMEOUT: Duration = Duration::from_secs(30);

/// A running `moto_server` with a bucket.
pub struct S3 {
    child: Child,
    endpoint: String,
    bucket: String,
    http: reqwest::Client,
}

/// A port nobody listens on right now.
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

impl S3 {
    /// Starts `moto_server` and creates `bucket`.
    ///
    /// # Panics
    /// When `moto_server` is not installed (`pip install 'moto[server]'`) or
    /// does not answer in time.
    pub async fn start(bucket: &str) -> Self {
        let port = free_port();
        let child = Command::new("moto_server")
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .unwrap_or_else(|e| {
                panic!("cannot start moto_server ({e}); install it: pip install 'moto[server]'")
            });
        let s3 = Self {
            child,
            endpoint: format!("http://127.0.0.1:{port}"),
            bucket: bucket.to_owned(),
            http: reqwest::Client::new(),
        };
        s3.wait_until_up().await;
        let created = s3
            .http
            .put(format!("{}/{bucket}", s3.endpoint))
            .send()
            .await
            .expect("create the bucket");
        assert!(
            created.status().is_success(),
            "create bucket {bucket}: {}",
            created.status()
        );
        s3
    }

    async fn wait_until_up(&self) {
        let deadline = tokio::time::Instant::now() + START_TIMEOUT;
        loop {
            if self.http.get(&self.endpoint).send().await.is_ok() {
                return;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "moto_server did not answer at {} within {START_TIMEOUT:?}",
                self.endpoint
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// `http://127.0.0.1:PORT`.
    #[must_use]
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// The server's `media_url` for this bucket (static test credentials).
    #[must_use]
    pub fn media_url(&self) -> String {
        format!(
            "s3://{}?endpoint={}&region=us-east-1&access_key_id=test&secret_access_key=test",
            self.bucket, self.endpoint
        )
    }

    /// The object at `key`, read with the S3 API (signed, like the server's
    /// requests), `None` when absent.
    ///
    /// # Panics
    /// When the client cannot be built.
    pub async fn object(&self, key: &str) -> Option<Vec<u8>> {
        use object_store::ObjectStoreExt as _;
        let store = object_store::aws::AmazonS3Builder::new()
            .with_bucket_name(&self.bucket)
            .with_endpoint(&self.endpoint)
            .with_region("us-east-1")
            .with_access_key_id("test")
            .with_secret_access_key("test")
            .with_allow_http(true)
            .build()
            .expect("S3 client");
        let got = store.get(&object_store::path::Path::from(key)).await.ok()?;
        Some(got.bytes().await.ok()?.to_vec())
    }
}

impl Drop for S3 {
    fn drop(&mut self) {
        let _ = self.child.start_kill();
    }
}
