//! Refreshing the trust list from the authority's publish URL during a sync.

use spondon_core::NumericDate;
use spondon_core::token::TrustList;

use super::types::TrustListRefresh;
use crate::error::{Result, Violation};
use crate::wallet::Wallet;

impl Wallet {
    /// Fetches the trust list from the authority's publish URL (if the pinned list names one)
    /// and installs it when newer. A failure leaves the pinned list; an older list is refused
    /// and kept as an alert. Returns the list to sync with.
    pub(super) async fn refresh_trust_list(
        &self,
        pinned: TrustList,
    ) -> Result<(TrustList, Option<TrustListRefresh>)> {
        let Some(url) = pinned.publish_url.clone() else {
            return Ok((pinned, None));
        };
        let text = match self.net.get_text(&url).await {
            Ok(t) => t,
            Err(e) => {
                let error = e.to_string();
                return Ok((pinned, Some(TrustListRefresh::Failed { error })));
            }
        };
        let root = self.trust_root().await?;
        let published =
            match TrustList::decode_and_verify(text.trim(), &root, 0, NumericDate::now()) {
                Ok(l) => l,
                Err(e) => {
                    let error = format!("the published list does not verify: {e}");
                    return Ok((pinned, Some(TrustListRefresh::Failed { error })));
                }
            };
        use std::cmp::Ordering;
        match published.sequence.cmp(&pinned.sequence) {
            Ordering::Equal => {
                let sequence = pinned.sequence;
                Ok((pinned, Some(TrustListRefresh::Unchanged { sequence })))
            }
            Ordering::Less => {
                let rolled_back = TrustListRefresh::RolledBack {
                    pinned: pinned.sequence,
                    published: published.sequence,
                };
                let violation = Violation::TrustListRollback {
                    pinned: pinned.sequence,
                    published: published.sequence,
                };
                self.store
                    .apply(vec![self.alert_write(&url, &violation)?])
                    .await?;
                Ok((pinned, Some(rolled_back)))
            }
            Ordering::Greater => {
                let list = self.update_trust_list(&text).await?;
                let sequence = list.sequence;
                Ok((list, Some(TrustListRefresh::Updated { sequence })))
            }
        }
    }
}
