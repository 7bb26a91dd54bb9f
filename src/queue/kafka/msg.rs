//! A message as the Kafka tier reads it, and the order in which reads
//! across partitions hand messages on.

use crate::record::Stored;
use rdkafka::message::Message;

/// Items a streamed read keeps waiting per partition (see `read_merged`).
pub(super) const BUFFERED: usize = 1000;

/// A message as read: partition, offset, key, value (None: a tombstone).
pub(super) struct Msg {
    pub(super) part: i32,
    pub(super) offset: i64,
    pub(super) key: Option<Vec<u8>>,
    pub(super) value: Option<Vec<u8>>,
}

impl Msg {
    /// The message librdkafka handed over, copied out of its buffer.
    pub(super) fn of(m: &impl Message) -> Msg {
        Msg {
            part: m.partition(),
            offset: m.offset(),
            key: m.key().map(<[u8]>::to_vec),
            value: m.payload().map(<[u8]>::to_vec),
        }
    }
}

/// Whether `a` comes before `b` of another partition: by completion time,
/// compared as times, not text (`…:19Z` and `…:19.5Z` sort wrongly as
/// text; a message that is not a record, or a time that does not parse,
/// sorts as the oldest), then offset.
pub(super) fn older(a: &(Msg, Option<Stored>), b: &(Msg, Option<Stored>)) -> bool {
    let key = |(m, s): &(Msg, Option<Stored>)| {
        let t = s
            .as_ref()
            .and_then(|s| s.view.completed_at.as_deref())
            .and_then(|t| crate::time::parse_timestamp(t).ok());
        (t, m.offset)
    };
    key(a) < key(b)
}
