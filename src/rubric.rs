//! The article's scale rubric, applied to a measured load: the one place
//! that decides which tier a queue's traffic belongs to, and why.
//!
//! | Throughput          | Tier          |
//! |---------------------|---------------|
//! | single-digit / hour | JSONL file    |
//! | hundreds / minute   | SQLite        |
//! | thousands / second  | Redis Streams |
//! | millions / second   | Kafka         |
//!
//! Rows are matched on the busiest minute and hour actually observed
//! (bursts are what a queue must absorb), and checklist item 2 moves writers
//! on several machines to a networked tier whatever their rate.

use crate::queue::Tier;
use serde::Serialize;

/// What `cq stats` measured.
#[derive(Debug, Default, Clone, Copy)]
pub struct Load {
    pub peak_per_second: u64,
    pub peak_per_minute: u64,
    pub peak_per_hour: u64,
    pub hosts: u64,
}

#[derive(Debug, Serialize, Clone, PartialEq, Eq)]
pub struct Advice {
    pub tier: Tier,
    pub reason: String,
    pub checklist: &'static str,
    /// The article's other checklist items, as the advised tier answers
    /// them: consumer groups and replay, durability, reading by hand.
    pub also: Vec<&'static str>,
}

const GROUPS: &str = "Do you need consumer groups or replay? If several independent consumers must read the same records, or you must replay from an offset, Redis Streams is the right call (cq pull --group NAME there).";

/// The checklist's durability and "read it by hand" items for `tier`, and
/// the groups item where the tier has no groups.
pub fn also(tier: Tier) -> Vec<&'static str> {
    let durability = tier.durability();
    let by_hand = match tier.readable_by_hand() {
        true => "Can you read the queue state in a text editor? Yes: cat the file.",
        false => {
            "Can you read the queue state in a text editor? Not on this tier: cq list shows it; make sure that cost is justified."
        }
    };
    let mut v = Vec::new();
    if !tier.has_groups() {
        v.push(GROUPS);
    }
    v.extend([durability, by_hand]);
    v
}

const THROUGHPUT: &str = "What is your actual throughput? Count events per unit time in the real system, not the theoretical max. Single-digit per hour → flat file. Hundreds per minute → SQLite. Thousands per second → Redis. Millions per second → Kafka.";
const WRITERS: &str = "Do you have multiple concurrent writers? For distributed writers across machines, you need a broker.";

/// Records per minute at which each row begins.
pub const SQLITE_PER_MINUTE: u64 = 100;
pub const SQLITE_PER_HOUR: u64 = 1_000;
pub const REDIS_PER_MINUTE: u64 = 60_000;
/// "Thousands per second", seen in one second (a burst a minute's count
/// would average away).
pub const REDIS_PER_SECOND: u64 = 1_000;
pub const KAFKA_PER_MINUTE: u64 = 6_000_000;

pub fn advise(l: &Load) -> Advice {
    let peaks = format!(
        "busiest minute {} records, busiest hour {}",
        l.peak_per_minute, l.peak_per_hour
    );
    let (tier, reason, checklist) = if l.peak_per_minute >= KAFKA_PER_MINUTE {
        (
            Tier::Kafka,
            format!("{peaks}: millions per second is the rubric's Kafka row"),
            THROUGHPUT,
        )
    } else if l.peak_per_minute >= REDIS_PER_MINUTE || l.peak_per_second >= REDIS_PER_SECOND {
        (
            Tier::Redis,
            format!(
                "{peaks}, busiest second {}: thousands per second is the rubric's Redis Streams row",
                l.peak_per_second
            ),
            THROUGHPUT,
        )
    } else if l.hosts > 1 {
        (
            Tier::Redis,
            format!(
                "records come from {} hosts: writers on several machines need a networked queue",
                l.hosts
            ),
            WRITERS,
        )
    } else if l.peak_per_minute >= SQLITE_PER_MINUTE || l.peak_per_hour >= SQLITE_PER_HOUR {
        (
            Tier::Sqlite,
            format!("{peaks}: hundreds per minute is the rubric's SQLite row"),
            THROUGHPUT,
        )
    } else {
        (
            Tier::Jsonl,
            format!("{peaks}: well under hundreds per minute, so a flat JSONL file is enough"),
            THROUGHPUT,
        )
    };
    Advice {
        tier,
        reason,
        checklist,
        also: also(tier),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tier(peak_per_minute: u64, peak_per_hour: u64, hosts: u64) -> Tier {
        advise(&Load {
            // As if spread evenly over the minute.
            peak_per_second: peak_per_minute.div_ceil(60),
            peak_per_minute,
            peak_per_hour,
            hosts,
        })
        .tier
    }

    #[test]
    fn rows() {
        assert_eq!(tier(1, 2, 1), Tier::Jsonl);
        assert_eq!(tier(99, 999, 1), Tier::Jsonl);
        assert_eq!(tier(300, 300, 1), Tier::Sqlite);
        assert_eq!(tier(20, 1200, 1), Tier::Sqlite);
        assert_eq!(tier(1, 1, 3), Tier::Redis);
        assert_eq!(tier(120_000, 120_000, 1), Tier::Redis);
        assert_eq!(tier(10_000_000, 10_000_000, 1), Tier::Kafka);
        // 3,000 records in one second, nothing else that minute: the
        // busiest second is the Redis row although the minute is not.
        let burst = Load {
            peak_per_second: 3_000,
            peak_per_minute: 3_000,
            peak_per_hour: 3_000,
            hosts: 1,
        };
        assert_eq!(advise(&burst).tier, Tier::Redis);
        assert!(advise(&burst).reason.contains("busiest second 3000"));
    }
}
