//! How long each request to a node or a registry took, for whoever keeps metrics. The client
//! reports the request's fixed name (`what`: "prepare", "registry transfer factory"…), never a
//! URL, a party or an id, so the names can be metric labels without leaking anything.

use std::sync::Arc;
use std::time::Duration;

/// Told of every request a client sent: its name, how long it took until the answer was read
/// (a 401 retried with a renewed token counts as one request), and whether it succeeded.
pub trait CallObserver: Send + Sync {
    fn observe(&self, what: &'static str, elapsed: Duration, ok: bool);
}

/// A client's observer, if it has one.
#[derive(Clone, Default)]
pub struct CallTimer(Option<Arc<dyn CallObserver>>);

impl CallTimer {
    pub fn new(observer: Arc<dyn CallObserver>) -> CallTimer {
        CallTimer(Some(observer))
    }

    pub(crate) fn observe(&self, what: &'static str, elapsed: Duration, ok: bool) {
        if let Some(observer) = &self.0 {
            observer.observe(what, elapsed, ok);
        }
    }
}

impl std::fmt::Debug for CallTimer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.0.is_some() {
            "CallTimer(on)"
        } else {
            "CallTimer(off)"
        })
    }
}
