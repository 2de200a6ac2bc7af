//! The package service through [`LedgerClient`]: `.dar` uploads and the list of package ids.

use crate::client::{ClientError, LedgerClient};
use crate::packages::ListPackagesResponse;
use crate::serde_util::Empty;

impl LedgerClient {
    /// `POST /v2/packages`: uploads a `.dar` (its raw bytes). Uploading packages the node has
    /// already is a no-op on the node.
    pub async fn upload_dar(&self, dar: Vec<u8>) -> Result<(), ClientError> {
        let request = self
            .http()
            .post(self.url("/v2/packages"))
            .header("content-type", "application/octet-stream")
            .body(dar);
        let _: Empty = self.send("upload dar", request).await?;
        Ok(())
    }

    /// `GET /v2/packages`: every package id the node knows.
    pub async fn package_ids(&self) -> Result<Vec<String>, ClientError> {
        let request = self.http().get(self.url("/v2/packages"));
        let list: ListPackagesResponse = self.send("list packages", request).await?;
        Ok(list.package_ids)
    }
}
