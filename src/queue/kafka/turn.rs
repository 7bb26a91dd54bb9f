//! Pulls of one consumer group on one machine take turns.

use super::queue::KafkaQueue;
use crate::error::{Error, Result};

impl KafkaQueue {
    /// Pulls of one group on this machine take turns, holding a lock file
    /// (`$XDG_STATE_HOME/cq/kafka/HASH.lock`) from joining the group to
    /// leaving it. A broker may hand a partition to a new member before
    /// the old one committed what it printed (seen with tansu under load):
    /// across machines that is Kafka's at-least-once; on one machine the
    /// turn makes it never.
    pub(super) fn local_turn(&self, group: &str) -> Result<std::fs::File> {
        let key = format!("{}\n{}\n{}", self.url.brokers, self.url.topic, group);
        // FNV-1a: a short, stable file name for the triple.
        let hash = key.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
        });
        let state = crate::queue::files::state_dir().unwrap_or_else(|_| std::env::temp_dir());
        let uid = rustix::process::getuid().as_raw();
        let mut last = None;
        for dir in [
            state.join("kafka"),
            std::env::temp_dir().join(format!("cq-{uid}")),
        ] {
            let path = dir.join(format!("{hash:016x}.lock"));
            let opened = crate::queue::files::ensure_dir(&dir, &self.shown).and_then(|()| {
                let mut o = std::fs::OpenOptions::new();
                o.read(true).write(true);
                crate::queue::files::open_or_create(&path, &o)
                    .map(|(f, _)| f)
                    .map_err(|e| Error::io(format!("cannot open {}", path.display()), e))
            });
            match opened {
                Ok(f) => {
                    f.lock()
                        .map_err(|e| Error::io(format!("cannot lock {}", path.display()), e))?;
                    return Ok(f);
                }
                Err(e) => last = Some(e),
            }
        }
        Err(last.expect("tried at least one directory"))
    }
}
