//! A write that met a 412: someone changed the item upstream between the bridge's read
//! and its write. The item is read again, the conflict resolved by the configured policy
//! against the new version, and the write retried with the new etag, a bounded number of
//! times, inside the same session. The phone gets the status the policy names.

use super::incoming::{execute, Plan};
use super::{items, ConflictPolicy, DatastoreRun, DavItems, EngineDeps, PhoneChange, SyncMethod};
use crate::convert::Component;
use crate::dav::{href, DavError, Written};
use crate::syncml::codes::StatusCode;

/// How many times a write that met a 412 is resolved again and retried before the item
/// gets a failure status (each retry follows a fresh read, so only an item edited
/// upstream again and again between read and write runs out).
pub const STALE_WRITE_RETRIES: usize = 3;

/// The outcome of one planned write.
pub(super) type Outcome = Result<Option<Written>, DavError>;

/// The server's current version of an item, read again after a 412.
enum Reread {
    Current(String, Component),
    Gone,
}

fn met_precondition(result: &Outcome) -> bool {
    matches!(result, Err(DavError::Conflict { .. }))
}

impl DatastoreRun {
    /// Resolves and retries `plan` while its write meets a 412; the last plan and result
    /// go to `settle`, with whether a retry resolved it. A plan that met no 412 passes
    /// through.
    pub(super) async fn retry_stale_write<D: DavItems>(
        &mut self,
        deps: &EngineDeps<D>,
        change: &PhoneChange,
        mut plan: Plan,
        mut result: Outcome,
    ) -> (Plan, Outcome, bool) {
        let mut attempt = 0;
        while met_precondition(&result) && attempt < STALE_WRITE_RETRIES {
            let Some(target) = self.stale_target(deps.policy, &plan) else {
                break;
            };
            attempt += 1;
            let reread = match self.reread(deps, &target).await {
                Ok(r) => r,
                Err(e) => return (plan, Err(e), false),
            };
            if let (Plan::Delete { .. }, Reread::Gone) = (&plan, &reread) {
                // Deleted by someone else meanwhile: what the phone wanted.
                return (plan, Err(DavError::NotFound { url: target }), false);
            }
            let Some(next) = self.resolve_again(deps, change, &plan, &target, reread) else {
                break;
            };
            tracing::info!(datastore = %self.key.datastore, luid = %change.luid(), href = %target, attempt, "changed upstream during the session, resolved again");
            if let Err(e) = self.record_intents(deps, std::slice::from_ref(&next)) {
                tracing::warn!(datastore = %self.key.datastore, error = %e, "cannot store the intent of a retried write");
                break;
            }
            (plan, result) = execute(deps, next).await;
        }
        if met_precondition(&result) && attempt == STALE_WRITE_RETRIES {
            tracing::warn!(datastore = %self.key.datastore, luid = %change.luid(), attempts = attempt, "item kept changing upstream: retries exhausted, the session keeps its anchors");
        }
        let resolved = attempt > 0 && !met_precondition(&result);
        (plan, result, resolved)
    }

    /// The href a plan that met a 412 was writing, when the write may be resolved again:
    /// an update or delete of a known item, or a create under the phone's own UID (the
    /// item may have been created upstream meanwhile under the same name).
    /// A delete meets a 412 only when someone edited the item: unless the phone wins, the
    /// edit is kept and `settle` sends it back to the phone.
    fn stale_target(&self, policy: ConflictPolicy, plan: &Plan) -> Option<String> {
        match plan {
            Plan::Update { href, .. } => Some(href.clone()),
            Plan::Delete { href, .. } if policy == ConflictPolicy::ClientWins => Some(href.clone()),
            Plan::Create {
                collection,
                name,
                renameable: None,
                ..
            } => Some(href::child(collection, name)),
            _ => None,
        }
    }

    async fn reread<D: DavItems>(
        &self,
        deps: &EngineDeps<D>,
        target: &str,
    ) -> Result<Reread, DavError> {
        let fetched = self.fetch(deps, &[target.to_owned()]).await?;
        let Some(item) = fetched.into_iter().find(|i| i.href == target) else {
            return Ok(Reread::Gone);
        };
        match items::parse_dav(&item.data, &deps.opts) {
            Ok(tree) => Ok(Reread::Current(item.etag.unwrap_or_default(), tree)),
            Err(e) => {
                tracing::warn!(datastore = %self.key.datastore, href = %target, error = %e, "item changed upstream is unreadable");
                Err(DavError::Conflict {
                    href: target.to_owned(),
                    current_etag: item.etag,
                })
            }
        }
    }

    /// The new plan for the phone's change against the server's current version.
    fn resolve_again<D>(
        &mut self,
        deps: &EngineDeps<D>,
        change: &PhoneChange,
        plan: &Plan,
        target: &str,
        reread: Reread,
    ) -> Option<Plan> {
        let luid = change.luid().to_owned();
        if let Plan::Delete { .. } = plan {
            let Reread::Current(etag, _) = reread else {
                return None;
            };
            return Some(Plan::Delete {
                luid,
                href: target.to_owned(),
                etag,
            });
        }
        let (format, data, is_add) = match change {
            PhoneChange::Add { format, data, .. } => (*format, data, true),
            PhoneChange::Replace { format, data, .. } => (*format, data, false),
            PhoneChange::Delete { .. } => return None,
        };
        // The phone's item converted as in the first plan (it converted then).
        let mut incoming = items::phone_to_dav(format, data, &deps.opts).ok()?;
        let Reread::Current(etag, existing) = reread else {
            // Deleted upstream meanwhile: the phone's version comes back as a new item.
            let status = if is_add {
                StatusCode::ItemAdded
            } else {
                StatusCode::Ok
            };
            return Some(self.plan_create(luid, incoming, status));
        };
        if let Plan::Create { .. } = plan {
            let same_uid =
                items::ensure_uid(&mut existing.clone()) == items::ensure_uid(&mut incoming);
            if !same_uid {
                return None;
            }
        }
        if self.index.is_some() {
            if self.method == SyncMethod::RefreshFromClient {
                // The phone's items replace the server's: merged as in the first plan, and
                // the merge goes back to the phone: it holds what the other editor added.
                return Some(self.plan_merge(
                    luid,
                    target.to_owned(),
                    etag,
                    &existing,
                    &incoming,
                    StatusCode::Ok,
                    true,
                ));
            }
            // A slow sync's pair: neither version is newer, so the new one is united with
            // the phone's like the first, and the union goes back where the phone lacks it.
            return Some(self.plan_union(luid, target.to_owned(), etag, &existing, &incoming));
        }
        Some(self.plan_conflict(deps, luid, target.to_owned(), etag, &existing, incoming))
    }
}
