//! Where attachments' bytes live: an object store, through the
//! `object_store` crate. Every key starts with its tenant
//! (`tenants/{tenantId}/…`); a new upload lands under the tenant's
//! quarantine prefix and moves to its clean prefix only after a clean scan.

use std::path::Path;
use std::sync::Arc;

use bytes::Bytes;
use futures::StreamExt;
use futures::stream::BoxStream;
use object_store::aws::AmazonS3Builder;
use object_store::local::LocalFileSystem;
use object_store::path::Path as Key;
use object_store::{ObjectStore, WriteMultipart};
use uuid::Uuid;

use crate::config::S3Store;

#[derive(Clone, Debug)]
pub struct ObjectStorage {
    store: Arc<dyn ObjectStore>,
    /// Bytes buffered per upload before they are written out as a part:
    /// about what one upload holds in memory, whatever the file's size.
    part_bytes: usize,
}

impl ObjectStorage {
    /// The local filesystem under `root`, created if missing: the embedded
    /// default.
    pub fn local(root: &Path) -> anyhow::Result<ObjectStorage> {
        std::fs::create_dir_all(root)?;
        let store = LocalFileSystem::new_with_prefix(root)?.with_automatic_cleanup(true);
        Ok(ObjectStorage { store: Arc::new(store), part_bytes: 1024 * 1024 })
    }

    /// An S3-compatible bucket.
    pub fn s3(settings: &S3Store) -> anyhow::Result<ObjectStorage> {
        let mut builder = AmazonS3Builder::new().with_url(&settings.url).with_region(&settings.region);
        if let Some(endpoint) = &settings.endpoint {
            builder = builder.with_endpoint(endpoint).with_allow_http(endpoint.starts_with("http://"));
        }
        if let Some(access_key_id) = &settings.access_key_id {
            builder = builder.with_access_key_id(access_key_id);
        }
        if let Some(secret_access_key) = &settings.secret_access_key {
            builder = builder.with_secret_access_key(secret_access_key.expose());
        }
        // S3 takes no part smaller than 5 MiB but the last.
        Ok(ObjectStorage { store: Arc::new(builder.build()?), part_bytes: 5 * 1024 * 1024 })
    }

    /// Starts writing a new object at `key`; nothing is visible there until
    /// [`ObjectWriter::finish`].
    pub async fn create(&self, key: &str) -> anyhow::Result<ObjectWriter> {
        let upload = self.store.put_multipart(&Key::from(key)).await?;
        Ok(ObjectWriter { upload: WriteMultipart::new_with_chunk_size(upload, self.part_bytes) })
    }

    /// The object's bytes, read as they are sent.
    pub async fn read(&self, key: &str) -> anyhow::Result<BoxStream<'static, anyhow::Result<Bytes>>> {
        let object = self.store.get(&Key::from(key)).await?;
        Ok(object.into_stream().map(|chunk| chunk.map_err(anyhow::Error::from)).boxed())
    }

    /// Copies an object to another key, e.g. out of quarantine; the copy
    /// replaces whatever was there.
    pub async fn copy(&self, from: &str, to: &str) -> anyhow::Result<()> {
        Ok(self.store.copy(&Key::from(from), &Key::from(to)).await?)
    }

    pub async fn delete(&self, key: &str) -> anyhow::Result<()> {
        Ok(self.store.delete(&Key::from(key)).await?)
    }
}

/// An object being written.
pub struct ObjectWriter {
    upload: WriteMultipart,
}

impl ObjectWriter {
    pub async fn write(&mut self, chunk: Bytes) -> anyhow::Result<()> {
        // No more bytes until the part in flight is written: an upload
        // holds at most one part and one chunk in memory.
        self.upload.wait_for_capacity(1).await?;
        self.upload.put(chunk);
        Ok(())
    }

    pub async fn finish(self) -> anyhow::Result<()> {
        self.upload.finish().await?;
        Ok(())
    }

    /// Throws away what was written: nothing is stored.
    pub async fn abort(self) -> anyhow::Result<()> {
        Ok(self.upload.abort().await?)
    }
}

/// Whether `error` says the object does not exist.
pub fn is_missing(error: &anyhow::Error) -> bool {
    matches!(error.downcast_ref::<object_store::Error>(), Some(object_store::Error::NotFound { .. }))
}

/// Where an upload's bytes wait for their scan. Each upload attempt has a
/// key of its own, so two uses of one URL at once cannot overwrite each
/// other's bytes.
pub fn quarantine_key(tenant_id: Uuid, attachment_id: Uuid, attempt: Uuid) -> String {
    format!("tenants/{tenant_id}/quarantine/{attachment_id}/{attempt}")
}

/// Where a file that scanned clean is served from.
pub fn clean_key(tenant_id: Uuid, attachment_id: Uuid) -> String {
    format!("tenants/{tenant_id}/attachments/{attachment_id}")
}
