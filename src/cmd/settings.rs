//! `cq init claude --install` / `--uninstall`: cq's hooks merged into a
//! Claude Code settings file, or taken out of it, keeping everything else.
//!
//! The file is JSON: `"hooks"` → event → `[{"matcher", "hooks": [...]}]`.
//! cq's hooks are the commands that run `cq hook claude` (any cq: an older
//! install's path too). Installing removes those, then adds this cq's, so
//! running it twice changes nothing the second time; uninstalling removes
//! them and any group or event left empty by that, and nothing else. The
//! file is replaced atomically (a temporary file in its directory, synced,
//! renamed over it, with its mode kept), after a copy of the old one is
//! kept as `settings.json.bak`.

use crate::error::{Error, Result};
use serde_json::{Map, Value};
use std::path::{Path, PathBuf};

/// What a command of cq's own hooks looks like: `… cq[' ]… hook claude`.
fn is_ours(hook: &Value) -> bool {
    let Some(cmd) = hook.get("command").and_then(Value::as_str) else {
        return false;
    };
    let Some(at) = cmd.find(" hook claude") else {
        return false;
    };
    let program = cmd[..at]
        .split(" --queue ")
        .next()
        .unwrap_or("")
        .trim_matches('\'');
    program == "cq" || program.ends_with("/cq")
}

/// The settings file: `--project` is `.claude/settings.json` under the
/// working directory, else the user's (`$CLAUDE_CONFIG_DIR/settings.json`,
/// or `~/.claude/settings.json`).
pub fn path(project: bool) -> Result<PathBuf> {
    if project {
        let cwd = std::env::current_dir()
            .map_err(|e| Error::io("cannot find the working directory", e))?;
        return Ok(cwd.join(".claude/settings.json"));
    }
    if let Some(d) = crate::config::get().claude_config_dir.clone() {
        return Ok(PathBuf::from(d).join("settings.json"));
    }
    match crate::config::get().home.clone() {
        Some(h) => Ok(PathBuf::from(h).join(".claude/settings.json")),
        None => Err(Error::usage(
            "cannot find the user's Claude Code settings: HOME is not set (use --project)",
        )),
    }
}

/// Takes cq's hooks out of `settings`; true when there were any.
fn remove_ours(settings: &mut Map<String, Value>) -> bool {
    let Some(Value::Object(events)) = settings.get_mut("hooks") else {
        return false;
    };
    let mut removed = false;
    for groups in events.values_mut() {
        let Value::Array(groups) = groups else {
            continue;
        };
        for g in groups.iter_mut() {
            if let Some(Value::Array(hooks)) = g.get_mut("hooks") {
                let before = hooks.len();
                hooks.retain(|h| !is_ours(h));
                if hooks.len() != before {
                    removed = true;
                    // Only groups that cq's removal emptied go.
                    if hooks.is_empty() {
                        g["hooks"] = Value::Null;
                    }
                }
            }
        }
        groups.retain(|g| g.get("hooks") != Some(&Value::Null));
    }
    events.retain(|_, groups| !matches!(groups, Value::Array(a) if a.is_empty()));
    if events.is_empty() {
        settings.remove("hooks");
    }
    removed
}

/// `settings` with cq's hooks (`ours`, as `cq init claude` prints them)
/// in place of any it had.
fn add_ours(settings: &mut Map<String, Value>, ours: &Value) -> Result<()> {
    remove_ours(settings);
    let hooks = settings
        .entry("hooks")
        .or_insert_with(|| Value::Object(Map::new()));
    let Value::Object(events) = hooks else {
        return Err(Error::new(
            "its \"hooks\" is not an object; nothing changed",
        ));
    };
    for (event, groups) in ours["hooks"].as_object().into_iter().flatten() {
        let list = events
            .entry(event.clone())
            .or_insert_with(|| Value::Array(Vec::new()));
        let Value::Array(list) = list else {
            return Err(Error::new(format!(
                "its \"hooks\".\"{event}\" is not a list; nothing changed"
            )));
        };
        list.extend(groups.as_array().into_iter().flatten().cloned());
    }
    Ok(())
}

/// A settings file as parsed, with the bytes it had.
type Read = (Map<String, Value>, Vec<u8>);

fn read(file: &Path) -> Result<Option<Read>> {
    let bytes = match std::fs::read(file) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(Error::io(format!("cannot read {}", file.display()), e)),
    };
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(Some((Map::new(), bytes)));
    }
    match serde_json::from_slice::<Value>(&bytes) {
        Ok(Value::Object(m)) => Ok(Some((m, bytes))),
        Ok(_) => Err(Error::new(format!(
            "{} is not a JSON object; nothing changed",
            file.display()
        ))),
        Err(e) => Err(Error::new(format!(
            "{} is not valid JSON ({e}); nothing changed",
            file.display()
        ))),
    }
}

fn write(file: &Path, settings: &Map<String, Value>, old: Option<&[u8]>) -> Result<()> {
    use std::io::Write;
    let dir = file.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)
        .map_err(|e| Error::io(format!("cannot create {}", dir.display()), e))?;
    let fail = |e| Error::io(format!("cannot write {}", file.display()), e);
    let mut text = serde_json::to_string_pretty(settings).expect("settings serialise");
    text.push('\n');
    if old == Some(text.as_bytes()) {
        return Ok(());
    }
    let mode = std::fs::metadata(file).ok().map(|m| m.permissions());
    if let Some(old) = old {
        let mut bak = file.as_os_str().to_os_string();
        bak.push(".bak");
        std::fs::write(&bak, old).map_err(fail)?;
        if let Some(m) = &mode {
            let _ = std::fs::set_permissions(&bak, m.clone());
        }
    }
    let mut tmp = tempfile::Builder::new()
        .prefix(".settings.json.")
        .tempfile_in(dir)
        .map_err(fail)?;
    tmp.write_all(text.as_bytes()).map_err(fail)?;
    if let Some(m) = mode {
        tmp.as_file().set_permissions(m).map_err(fail)?;
    }
    tmp.as_file().sync_all().map_err(fail)?;
    tmp.persist(file).map_err(|e| fail(e.error))?;
    crate::queue::files::sync_dir(dir).map_err(fail)
}

/// Merges `ours` (the printed settings) into `file`; what it did, for
/// stderr.
pub fn install(file: &Path, ours: &Value) -> Result<String> {
    let (mut settings, old) = match read(file)? {
        Some((m, b)) => (m, Some(b)),
        None => (Map::new(), None),
    };
    add_ours(&mut settings, ours)
        .map_err(|e| Error::new(format!("{}: {}", file.display(), e.msg)))?;
    write(file, &settings, old.as_deref())?;
    Ok(format!("cq's hooks are in {}", file.display()))
}

/// Takes cq's hooks out of `file`.
pub fn uninstall(file: &Path) -> Result<String> {
    let Some((mut settings, old)) = read(file)? else {
        return Ok(format!("{} does not exist; nothing to do", file.display()));
    };
    if !remove_ours(&mut settings) {
        return Ok(format!(
            "no hooks of cq's in {}; nothing changed",
            file.display()
        ));
    }
    write(file, &settings, Some(&old))?;
    Ok(format!("cq's hooks are out of {}", file.display()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn ours() -> Value {
        json!({"hooks": {
            "Stop": [{"matcher": "", "hooks": [{"type": "command", "command": "'/x/cq' hook claude --wake"}]}],
            "UserPromptSubmit": [{"matcher": "", "hooks": [{"type": "command", "command": "'/x/cq' --queue 'q' hook claude || true"}]}]
        }})
    }

    #[test]
    fn merge_keeps_the_users_hooks_and_is_idempotent() {
        let mut s = json!({"model": "x", "hooks": {
            "Stop": [{"matcher": "", "hooks": [{"type": "command", "command": "notify-send done"}]}],
            "UserPromptSubmit": [{"matcher": "", "hooks": [{"type": "command", "command": "/old/cq hook claude || true"}]}]
        }})
        .as_object()
        .unwrap()
        .clone();
        add_ours(&mut s, &ours()).unwrap();
        let once = s.clone();
        add_ours(&mut s, &ours()).unwrap();
        assert_eq!(s, once, "twice is once");
        let stop = s["hooks"]["Stop"].as_array().unwrap();
        assert_eq!(stop.len(), 2, "{s:?}");
        assert_eq!(stop[0]["hooks"][0]["command"], "notify-send done");
        assert_eq!(s["model"], "x");
        // The old cq's hook was replaced, not kept beside the new one.
        assert_eq!(s["hooks"]["UserPromptSubmit"].as_array().unwrap().len(), 1);
        assert!(remove_ours(&mut s));
        assert_eq!(
            Value::Object(s),
            json!({"model": "x", "hooks": {
                "Stop": [{"matcher": "", "hooks": [{"type": "command", "command": "notify-send done"}]}]
            }})
        );
    }

    #[test]
    fn what_counts_as_ours() {
        let c = |s: &str| json!({"type": "command", "command": s});
        assert!(is_ours(&c(
            "'/usr/bin/cq' hook claude --wake --wake-for 86400s"
        )));
        assert!(is_ours(&c("cq hook claude || true")));
        assert!(!is_ours(&c("my-tool hook claude")));
        assert!(!is_ours(&c("notify-send done")));
    }
}
