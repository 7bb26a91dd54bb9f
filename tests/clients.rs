//! Every tier's client library, run many times over: cq must never die of a
//! signal. librdkafka and OpenSSL run threads of their own inside cq; a cq
//! that exited while they still ran crashed in 1 of 20 Kafka TLS runs
//! (SIGSEGV, or glibc's malloc abort). Each loop fails on the first death
//! by any signal, with the signal's number and cq's stderr.
//!
//! `CQ_STRESS=N` makes every loop N times longer.

mod common;

use common::{Env, Tier, names, parse_lines, stdout_of};
use std::os::unix::process::ExitStatusExt;

/// Runs `cq ARGS` and fails on a death by any signal; returns its output.
fn run(env: &Env, queue: &str, extra_env: Vars, args: &[&str]) -> std::process::Output {
    let mut c = env.cq();
    c.env("CQ_QUEUE", queue).args(args);
    for (k, v) in extra_env {
        c.env(k, v);
    }
    let out = c.output().unwrap();
    if let Some(sig) = out.status.signal() {
        panic!(
            "cq {} died of signal {sig}; its stderr:\n{}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    out
}

/// Environment variables for cq.
type Vars<'a> = &'a [(&'a str, &'a str)];

/// A queue cq must refuse: its location, its variables, and a word the one
/// error line holds.
type Refused<'a> = (&'a str, Vars<'a>, &'a str);

/// `rounds` rounds of push, list and pull on `queue`, then the same
/// queue with `bad` settings (one clear line, exit 1). Every record pushed
/// is pulled exactly once. Returns how many times cq ran.
fn cycle(env: &Env, queue: &str, extra_env: Vars, bad: Option<Refused>, rounds: usize) -> usize {
    let mut runs = 0;
    let mut pulled = Vec::new();
    for i in 0..rounds {
        let name = format!("job-{i}");
        let out = run(env, queue, extra_env, &["push", "-n", &name, "-e", "0"]);
        assert!(out.status.success(), "push {i}: {out:?}");
        let out = run(env, queue, extra_env, &["list", "--json", "--pending"]);
        assert!(out.status.success(), "list {i}: {out:?}");
        assert_eq!(names(&parse_lines(&stdout_of(&out))), [name.as_str()]);
        let out = run(env, queue, extra_env, &["pull", "--json"]);
        assert!(out.status.success(), "pull {i}: {out:?}");
        pulled.extend(names(&parse_lines(&stdout_of(&out))));
        runs += 3;
        if let Some((q, bad_env, want)) = bad {
            let out = run(env, q, bad_env, &["list"]);
            let msg = String::from_utf8_lossy(&out.stderr);
            assert_eq!(out.status.code(), Some(1), "{out:?}");
            assert!(msg.contains(want) && msg.lines().count() == 1, "{q}: {msg}");
            runs += 1;
        }
    }
    let want: Vec<String> = (0..rounds).map(|i| format!("job-{i}")).collect();
    assert_eq!(pulled, want, "every record pulled once, in order");
    runs
}

/// The Kafka TLS path (stunnel in front of tansu): 13 rounds of push,
/// list, pull and a list with a CA nobody vouches for, 52 TLS runs of cq.
#[cfg(feature = "kafka")]
#[test]
fn kafka_tls_clients_never_crash() {
    let test = "kafka_tls_clients_never_crash";
    for tool in ["tansu", "openssl", "stunnel4"] {
        if !common::have(tool) {
            return common::skip(test, &format!("{tool} is not installed"));
        }
    }
    let env = Env::new();
    let tls = common::KafkaTls::start(env.dir.path());
    let good = format!(
        "kafka://127.0.0.1:{}/stress?tls=true&ca={}",
        tls.port, tls.ca
    );
    let untrusted = format!("kafka://127.0.0.1:{}/stress?tls=true", tls.port);
    let runs = cycle(
        &env,
        &good,
        &[],
        Some((&untrusted, &[], "certificate")),
        13 * common::stress(),
    );
    eprintln!("{test}: {runs} runs of cq over TLS, none died of a signal");
}

/// Plain Kafka, SQLite and Redis (plain and TLS), each 10 rounds.
#[cfg(feature = "kafka")]
#[test]
fn kafka_clients_never_crash() {
    if !common::have("tansu") {
        return common::skip("kafka_clients_never_crash", "tansu is not installed");
    }
    let env = Env::tier(Tier::Kafka);
    cycle(&env, &env.location, &[], None, 10 * common::stress());
}

#[test]
fn sqlite_clients_never_crash() {
    let env = Env::tier(Tier::Sqlite);
    cycle(&env, &env.location, &[], None, 10 * common::stress());
}

#[test]
fn redis_clients_never_crash() {
    let test = "redis_clients_never_crash";
    if !common::have("redis-server") || !common::have("openssl") {
        return common::skip(test, "redis-server or openssl is not installed");
    }
    let env = Env::tier(Tier::Redis);
    cycle(&env, &env.location, &[], None, 10 * common::stress());
    let (server, ca) = common::RedisServer::start_tls(env.dir.path(), &[])
        .expect("redis-server with TLS did not start");
    let q = format!("rediss://127.0.0.1:{}/0?stream=stress", server.port);
    let bad_ca = env.path("no-such-ca.pem");
    let bad_ca = bad_ca.display().to_string();
    cycle(
        &env,
        &q,
        &[("CQ_REDIS_CA", &ca)],
        Some((&q, &[("CQ_REDIS_CA", &bad_ca)], "CQ_REDIS_CA")),
        10 * common::stress(),
    );
}

/// `cq` is a static PIE: position-independent (ASLR), with no program
/// interpreter, so no dynamic loader runs at every job's start
/// (.cargo/config.toml). cq-kafka is a dynamically linked PIE: the static
/// builds crashed on the Kafka TLS path. What `readelf -h` calls `DYN`,
/// and an interpreter (`PT_INTERP`) or none.
#[test]
fn cq_is_a_static_pie_and_cq_kafka_a_dynamic_one() {
    let mut programs = vec![(common::CQ, false)];
    programs.extend(option_env!("CARGO_BIN_EXE_cq-kafka").map(|p| (p, true)));
    for (program, dynamic) in programs {
        let elf = std::fs::read(program).unwrap();
        assert_eq!(&elf[..4], b"\x7fELF");
        let u16_at = |o: usize| u16::from_le_bytes([elf[o], elf[o + 1]]);
        let u32_at = |o: usize| u32::from_le_bytes(elf[o..o + 4].try_into().unwrap());
        let u64_at = |o: usize| u64::from_le_bytes(elf[o..o + 8].try_into().unwrap());
        const ET_DYN: u16 = 3;
        const PT_INTERP: u32 = 3;
        assert_eq!(u16_at(16), ET_DYN, "{program} is not position-independent");
        let (phoff, phentsize, phnum) = (u64_at(32) as usize, u16_at(54) as usize, u16_at(56));
        let interp = (0..phnum as usize).any(|i| u32_at(phoff + i * phentsize) == PT_INTERP);
        if dynamic {
            assert!(
                interp,
                "{program} is linked statically (no program interpreter)"
            );
        } else {
            assert!(
                !interp,
                "{program} is linked dynamically (see .cargo/cq-cc)"
            );
        }
    }
}

/// The linker wrapper rewrites `cq`'s link line, and only cq's, as rustc's
/// `+crt-static` would; a static link that fails is done again as rustc
/// asked. A stand-in `cc` records each line it is given.
#[test]
fn the_linker_wrapper_links_only_cq_statically() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("lines");
    let fake_cc = dir.path().join("cc");
    // Fails a static link when told to, as a machine without libc.a would.
    std::fs::write(
        &fake_cc,
        format!(
            "#!/bin/sh\necho \"$*\" >>'{}'\ncase \"$* $FAIL_STATIC\" in *-static-pie*1) exit 1;; esac\n",
            log.display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(
        &fake_cc,
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .unwrap();
    let wrapper = concat!(env!("CARGO_MANIFEST_DIR"), "/.cargo/cq-cc");
    let rustc_line = "-m64 a.o -Wl,--as-needed -Wl,-Bstatic x.rlib -Wl,-Bdynamic -lgcc_s -lutil -lc -L raw -o cq-1 -Wl,--gc-sections -pie -Wl,-z,relro";
    let link = |bin: &str, fail: &str| {
        let _ = std::fs::remove_file(&log);
        let out = std::process::Command::new(wrapper)
            .args(rustc_line.split(' '))
            .env_clear()
            .env("PATH", "/usr/bin:/bin")
            .env("CQ_LINK_CC", &fake_cc)
            .env("CARGO_BIN_NAME", bin)
            .env("FAIL_STATIC", fail)
            .output()
            .unwrap();
        let lines = std::fs::read_to_string(&log).unwrap();
        (
            out.status.code(),
            lines,
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let static_line = "-m64 a.o -Wl,--as-needed -Wl,-Bstatic x.rlib -lutil -lc -lgcc_eh -lgcc -lc -L raw -o cq-1 -Wl,--gc-sections -static-pie -Wl,-z,relro";
    assert_eq!(
        link("cq", "0"),
        (Some(0), format!("{static_line}\n"), String::new())
    );
    assert_eq!(
        link("cq-kafka", "0"),
        (Some(0), format!("{rustc_line}\n"), String::new())
    );
    let (code, lines, stderr) = link("cq", "1");
    assert_eq!(code, Some(0));
    assert_eq!(lines, format!("{static_line}\n{rustc_line}\n"));
    assert!(stderr.contains("linked dynamically"), "{stderr}");
}

/// `cq` does not link the Kafka client: a kafka:// queue runs in
/// `cq-kafka`, next to it, with the same arguments; without it, one line
/// says so.
#[cfg(feature = "kafka")]
#[test]
fn kafka_queues_run_in_cq_kafka_next_to_cq() {
    let helper = env!("CARGO_BIN_EXE_cq-kafka");
    let dir = tempfile::tempdir().unwrap();
    let alone = dir.path().join("cq");
    std::fs::copy(common::CQ, &alone).unwrap();
    // `cq list --count` of a Kafka queue nobody serves: exit 1, and why.
    let kafka_error = || {
        let out = std::process::Command::new(&alone)
            .args(["--queue", "kafka://127.0.0.1:1/t", "list", "--count"])
            .env("XDG_STATE_HOME", dir.path())
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(1), "{out:?}");
        String::from_utf8_lossy(&out.stderr).into_owned()
    };
    let err = kafka_error();
    assert!(
        err.contains("runs in cq-kafka") && err.lines().count() == 1,
        "{err}"
    );
    // With it next to cq, cq becomes it: the error is the Kafka client's.
    std::fs::copy(helper, dir.path().join("cq-kafka")).unwrap();
    let err = kafka_error();
    assert!(err.contains("cannot reach Kafka"), "{err}");
    // Other tiers never need it.
    std::fs::remove_file(dir.path().join("cq-kafka")).unwrap();
    let q = dir.path().join("q.jsonl");
    let st = std::process::Command::new(&alone)
        .arg("--queue")
        .arg(&q)
        .args(["push", "-n", "x", "-e", "0"])
        .status()
        .unwrap();
    assert!(st.success());
}

/// A cq built without the Kafka tier (the default: `cargo install --path .`)
/// given a kafka:// queue, by flag, by CQ_QUEUE or as migrate's target:
/// one line saying how to get the tier, exit 2 (a usage error), no
/// password echoed, nothing run, created or changed. Runs in the default
/// build only (`.ci/run` runs it beside the `--all-features` suite).
#[cfg(not(feature = "kafka"))]
#[test]
fn without_the_kafka_feature_a_kafka_queue_says_how_to_get_it() {
    let env = Env::new();
    env.push("a", 0);
    env.push("b", 1);
    let snapshot = || {
        let mut files: Vec<(String, Vec<u8>)> = Vec::new();
        let mut dirs = vec![env.dir.path().to_path_buf()];
        while let Some(d) = dirs.pop() {
            for e in std::fs::read_dir(&d).unwrap() {
                let p = e.unwrap().path();
                if p.is_dir() {
                    dirs.push(p.clone());
                    files.push((p.display().to_string(), Vec::new()));
                } else {
                    files.push((p.display().to_string(), std::fs::read(&p).unwrap()));
                }
            }
        }
        files.sort();
        files
    };
    let before = snapshot();
    let url = "kafka://user:hunter2@127.0.0.1:1/jobs";
    let marker = env.path("ran");
    let marker = marker.to_str().unwrap();
    let cases: Vec<(Option<&str>, Vec<&str>)> = vec![
        (None, vec!["--queue", url, "push", "-n", "x", "-e", "0"]),
        (Some(url), vec!["list"]),
        (Some(url), vec!["pull"]),
        (Some(url), vec!["stats"]),
        (Some(url), vec!["where"]),
        (Some(url), vec!["wrap", "--", "touch", marker]),
        (None, vec!["migrate", "--to", url]),
    ];
    for (queue, args) in cases {
        let mut c = env.cq();
        if let Some(q) = queue {
            c.env("CQ_QUEUE", q);
        }
        let out = c.args(&args).output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {out:?}");
        assert_eq!(
            err,
            "cq: this cq was built without the Kafka tier; install it with: \
             cargo install --locked --path . --features kafka (in cq's source directory)\n",
            "{args:?}"
        );
        assert!(out.stdout.is_empty(), "{args:?}: {out:?}");
    }
    assert!(
        !std::path::Path::new(marker).exists(),
        "wrap ran its command"
    );
    assert_eq!(snapshot(), before, "something was created or changed");
}
