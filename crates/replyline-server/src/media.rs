//! The media store: where message files are kept (`media_url`): a directory
//! (`file://DIR`, the default `<data dir>/media`) or an S3-compatible bucket
//! (`s3://BUCKET?endpoint=...&region=...`), both through `object_store`.

use bytes::Bytes;
use object_store::aws::AmazonS3Builder;
use object_store::local::LocalFileSystem;
use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt, PutPayload};
use std::path::PathBuf;
use std::sync::Arc;

/// Why the media store could not be opened or used.
#[derive(Debug, thiserror::Error)]
pub enum MediaError {
    #[error("media_url: {0}")]
    Config(String),
    #[error("media store: {0}")]
    Store(#[from] object_store::Error),
    #[error("media store: {0}")]
    Io(#[from] std::io::Error),
}

/// The chunks of a stored file.
pub type MediaStream = futures_util::stream::BoxStream<'static, Result<Bytes, object_store::Error>>;

/// Files of messages, by key (e.g. `in/42/1234`); cheap to clone.
#[derive(Clone, Debug)]
pub struct MediaStore {
    inner: Arc<dyn ObjectStore>,
    /// `file://…` or `s3://BUCKET`, for the log (no credentials).
    describe: Arc<str>,
}

impl MediaStore {
    /// Opens the store named by `media_url`; `None` means `<data_dir>/media`.
    ///
    /// S3 query parameters: `endpoint`, `region` (default `us-east-1`),
    /// `access_key_id`, `secret_access_key` (else `AWS_ACCESS_KEY_ID` /
    /// `AWS_SECRET_ACCESS_KEY` from the environment), `allow_http`
    /// (default: true for an `http://` endpoint) and `prefix`.
    pub fn open(media_url: Option<&str>, data_dir: &std::path::Path) -> Result<Self, MediaError> {
        let url = media_url.map(str::trim).filter(|s| !s.is_empty());
        match url {
            None => Self::directory(data_dir.join("media")),
            Some(url) if url.starts_with("file://") => {
                let dir = PathBuf::from(&url["file://".len()..]);
                if !dir.is_absolute() {
                    return Err(MediaError::Config(format!(
                        "{url}: a file:// URL needs an absolute directory"
                    )));
                }
                Self::directory(dir)
            }
            Some(url) if url.starts_with("s3://") => Self::s3(url),
            Some(url) => Err(MediaError::Config(format!(
                "{url}: expected file://DIR or s3://BUCKET?endpoint=..."
            ))),
        }
    }

    /// A directory store; the directory is created owner-only (0700), so the
    /// files beneath it are readable by this user only, whatever the umask.
    fn directory(dir: PathBuf) -> Result<Self, MediaError> {
        replyline_store::private_dir(&dir)?;
        let describe = format!("file://{}", dir.display());
        Ok(Self {
            inner: Arc::new(LocalFileSystem::new_with_prefix(&dir)?),
            describe: describe.into(),
        })
    }

    fn s3(url: &str) -> Result<Self, MediaError> {
        let parsed = url::Url::parse(url).map_err(|e| MediaError::Config(format!("{url}: {e}")))?;
        let bucket = parsed
            .host_str()
            .filter(|b| !b.is_empty())
            .ok_or_else(|| MediaError::Config(format!("{url}: no bucket")))?
            .to_owned();
        let mut builder = AmazonS3Builder::from_env()
            .with_bucket_name(&bucket)
            .with_region("us-east-1");
        let mut allow_http = None;
        for (key, value) in parsed.query_pairs() {
            builder = match key.as_ref() {
                "endpoint" => {
                    allow_http.get_or_insert(value.starts_with("http://"));
                    builder.with_endpoint(value.as_ref())
                }
                "region" => builder.with_region(value.as_ref()),
                "access_key_id" => builder.with_access_key_id(value.as_ref()),
                "secret_access_key" => builder.with_secret_access_key(value.as_ref()),
                "allow_http" => {
                    allow_http = Some(value == "true");
                    builder
                }
                other => {
                    return Err(MediaError::Config(format!(
                        "{url}: unknown parameter {other}"
                    )));
                }
            };
        }
        if let Some(allow) = allow_http {
            builder = builder.with_allow_http(allow);
        }
        Ok(Self {
            inner: Arc::new(builder.build()?),
            describe: format!("s3://{bucket}").into(),
        })
    }

    /// Where files go, for the log.
    pub fn describe(&self) -> &str {
        &self.describe
    }

    /// Stores `bytes` under `key` (atomically: never half written).
    pub async fn put(&self, key: &str, bytes: Bytes) -> Result<(), MediaError> {
        self.inner
            .put(&Path::from(key), PutPayload::from_bytes(bytes))
            .await?;
        Ok(())
    }

    /// The bytes stored under `key`.
    pub async fn get(&self, key: &str) -> Result<Bytes, MediaError> {
        Ok(self.inner.get(&Path::from(key)).await?.bytes().await?)
    }

    /// The file under `key` as a stream of chunks, with its size: for serving
    /// files without holding them in memory.
    pub async fn stream(&self, key: &str) -> Result<(u64, MediaStream), MediaError> {
        let got = self.inner.get(&Path::from(key)).await?;
        Ok((got.meta.size, got.into_stream()))
    }

    /// Removes the file under `key` (a file no message refers to).
    pub async fn delete(&self, key: &str) -> Result<(), MediaError> {
        self.inner.delete(&Path::from(key)).await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_directory_store_keeps_bytes_by_key() {
        let dir = tempfile::tempdir().unwrap();
        let store = MediaStore::open(None, dir.path()).unwrap();
        store
            .put("in/1/2", Bytes::from_static(b"\x89PNG"))
            .await
            .unwrap();
        assert_eq!(store.get("in/1/2").await.unwrap().as_ref(), b"\x89PNG");
        assert!(dir.path().join("media/in/1/2").exists());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.path().join("media"))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o700, "{mode:o}");
        }
        assert!(store.get("in/1/3").await.is_err());
    }

    #[tokio::test]
    async fn a_deleted_file_is_gone() {
        let dir = tempfile::tempdir().unwrap();
        let store = MediaStore::open(None, dir.path()).unwrap();
        store
            .put("out/1/x", Bytes::from_static(b"%PDF"))
            .await
            .unwrap();
        store.delete("out/1/x").await.unwrap();
        assert!(store.get("out/1/x").await.is_err());
        assert!(!dir.path().join("media/out/1/x").exists());
    }

    #[tokio::test]
    async fn a_stored_file_streams_with_its_size() {
        use futures_util::StreamExt as _;
        let dir = tempfile::tempdir().unwrap();
        let store = MediaStore::open(None, dir.path()).unwrap();
        let big = Bytes::from(vec![7u8; 100_000]);
        store.put("in/1/9", big.clone()).await.unwrap();
        let (size, mut chunks) = store.stream("in/1/9").await.unwrap();
        assert_eq!(size, 100_000);
        let mut read = Vec::new();
        while let Some(chunk) = chunks.next().await {
            read.extend_from_slice(&chunk.unwrap());
        }
        assert_eq!(read, big);
        assert!(store.stream("in/1/10").await.is_err());
    }

    #[test]
    fn bad_urls_are_refused_with_the_reason() {
        let dir = std::path::Path::new("/tmp");
        for url in ["ftp://x", "file://relative/dir", "s3://bucket?colour=blue"] {
            let err = MediaStore::open(Some(url), dir).unwrap_err().to_string();
            assert!(err.starts_with("media_url"), "{url}: {err}");
        }
    }
}
