//! Write sessions of either API for a whole fleet, created on first
//! use and kept, so that a v2 token or a v3 salt is fetched once per miner
//! rather than once per admin command.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use super::WriteSession;
use crate::client::{Api, Backend, Client};
use crate::secret::Secret;
use crate::transport::MinerAddr;

struct Pooled {
    session: Arc<WriteSession>,
    password: Secret,
}

/// One [`WriteSession`] per (configured address, API). A session is replaced
/// when the password given for it changes (configuration reload).
pub struct SessionPool {
    client: Client,
    sessions: Mutex<HashMap<(MinerAddr, Api), Pooled>>,
}

impl std::fmt::Debug for SessionPool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SessionPool").finish_non_exhaustive()
    }
}

impl SessionPool {
    pub fn new(client: Client) -> Self {
        SessionPool {
            client,
            sessions: Mutex::new(HashMap::new()),
        }
    }

    /// The session for `addr` (as configured; a v3 session goes to its v3
    /// port) through `backend`, shared by every caller.
    pub fn session(
        &self,
        addr: &MinerAddr,
        backend: &dyn Backend,
        password: &Secret,
    ) -> Arc<WriteSession> {
        let mut sessions = match self.sessions.lock() {
            Ok(guard) => guard,
            // The map stays consistent even if a holder panicked.
            Err(poisoned) => poisoned.into_inner(),
        };
        let key = (addr.clone(), backend.api());
        if let Some(p) = sessions.get(&key).filter(|p| &p.password == password) {
            return p.session.clone();
        }
        let session = Arc::new(backend.session(&self.client, addr, password.clone()));
        sessions.insert(
            key,
            Pooled {
                session: session.clone(),
                password: password.clone(),
            },
        );
        session
    }

    /// Drops the sessions of miners no longer configured.
    pub fn retain(&self, keep: &std::collections::HashSet<MinerAddr>) {
        if let Ok(mut sessions) = self.sessions.lock() {
            sessions.retain(|(addr, _), _| keep.contains(addr));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sessions_are_shared_per_miner_api_and_password() {
        let pool = SessionPool::new(Client::default());
        let backends = crate::client::Backends::default();
        let (v2b, v3) = (backends.get(Api::V2), backends.get(Api::V3));
        let a: MinerAddr = "127.0.0.1:4028".parse().unwrap();
        let pw = Secret::new("one");
        let first = pool.session(&a, v3, &pw);
        assert!(Arc::ptr_eq(&first, &pool.session(&a, v3, &pw)));
        assert_eq!(first.miner().port(), 4433);
        let v2 = pool.session(&a, v2b, &pw);
        assert!(!Arc::ptr_eq(&first, &v2));
        assert_eq!(v2.miner().port(), 4028);
        let changed = pool.session(&a, v3, &Secret::new("two"));
        assert!(
            !Arc::ptr_eq(&first, &changed),
            "a new password, a new session"
        );
        pool.retain(&Default::default());
        assert!(!Arc::ptr_eq(
            &changed,
            &pool.session(&a, v3, &Secret::new("two"))
        ));
        assert!(!format!("{pool:?}").contains("two"));
    }
}
