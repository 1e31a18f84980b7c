//! Where a file a configuration names (a certificate, key, CA bundle,
//! password file) is to be found on this machine, if anywhere.
//!
//! A configuration names files as the server sees them. Reading them here
//! is right only where this machine holds the server's files:
//! - a tree loaded from its installed place (`/etc/nginx/nginx.conf` and the
//!   other prefixes nginx builds use): every path is looked up as written;
//! - a tree loaded from anywhere else (a repository, a copy): paths inside
//!   the tree's own directory (relative ones, or absolute ones under it) are
//!   looked up, since their relation to the tree holds in the copy too;
//!   absolute paths elsewhere (`/etc/ssl/…`) exist only on the server and
//!   are not looked up;
//! - `nginx -T` output (a file, standard input, a server over SSH), a
//!   configuration on standard input and the demo: nothing is looked up on
//!   this machine, which is not the server the files belong to;
//! - with `--root DIR`, every path is looked up under DIR, the server's
//!   file system as copied here (`/etc/ssl/x.pem` → `DIR/etc/ssl/x.pem`),
//!   and a path that leads out of DIR (`..`, a symbolic link) is not
//!   followed.

use std::path::{Component, Path, PathBuf};

use super::{Config, LoadedFrom};

/// Directories nginx packages and builds install nginx.conf in.
pub const INSTALLED_PREFIXES: &[&str] = &[
    "/etc/nginx",
    "/usr/local/nginx/conf",
    "/usr/local/etc/nginx",
    "/opt/homebrew/etc/nginx",
    "/etc/openresty",
    "/usr/local/openresty/nginx/conf",
    "/opt/nginx/conf",
    "/etc/angie",
];

/// Where a named file is on this machine, or why it is not looked up.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Local {
    /// Look the file up here.
    At(PathBuf),
    /// Not looked up: one sentence saying why, for the hop's detail.
    NotChecked(String),
}

/// Whether `prefix` is a place nginx.conf is installed in.
pub fn installed(prefix: &Path) -> bool {
    INSTALLED_PREFIXES.iter().any(|p| prefix == Path::new(p))
}

/// Removes `.` and resolves `..` without touching the file system; None
/// when `..` climbs above the start.
fn lexical(path: &Path) -> Option<PathBuf> {
    let mut out = PathBuf::new();
    let mut depth = 0usize;
    for c in path.components() {
        match c {
            Component::Prefix(_) | Component::RootDir => out.push(c.as_os_str()),
            Component::CurDir => {}
            Component::ParentDir => {
                if depth == 0 {
                    return None;
                }
                out.pop();
                depth -= 1;
            }
            Component::Normal(n) => {
                out.push(n);
                depth += 1;
            }
        }
    }
    Some(out)
}

/// The path relative to the root of the file system (`/etc/x` → `etc/x`).
fn below_root(path: &Path) -> PathBuf {
    path.components()
        .filter(|c| matches!(c, Component::Normal(_)))
        .collect()
}

/// `path` (absolute, as the server names it) under `root`, unless it
/// leads out of `root` by `..` or by a symbolic link on the way.
fn under_root(root: &Path, server_path: &Path) -> Local {
    let Some(clean) = lexical(server_path) else {
        return Local::NotChecked(format!(
            "{} leads out of --root {}",
            server_path.display(),
            root.display()
        ));
    };
    let mapped = root.join(below_root(&clean));
    // Symbolic links: the deepest part of the path that exists must stay
    // inside the root once resolved.
    let Ok(real_root) = root.canonicalize() else {
        return Local::NotChecked(format!("--root {} cannot be read", root.display()));
    };
    let mut probe = mapped.as_path();
    loop {
        if let Ok(real) = probe.canonicalize() {
            if !real.starts_with(&real_root) {
                return Local::NotChecked(format!(
                    "{} leads out of --root {} (a symbolic link)",
                    server_path.display(),
                    root.display()
                ));
            }
            break;
        }
        match probe.parent() {
            Some(p) => probe = p,
            None => break,
        }
    }
    Local::At(mapped)
}

impl Config {
    /// Where the file a directive names (`value`, as written) is on this
    /// machine, or why it is not looked up (see the module's text).
    pub fn local_file(&self, value: &str) -> Local {
        let written = Path::new(value);
        let from_dump = self.loaded_from == LoadedFrom::Dump || self.from_stdin;
        if let Some(root) = &self.root {
            // The server's own view of the path: relative names hang off
            // its prefix, which a dump names and a tree under the root
            // shows.
            let server_prefix = match self.prefix.strip_prefix(root) {
                Ok(rest) if !from_dump => Path::new("/").join(rest),
                _ => self.prefix.clone(),
            };
            let server_path = if written.is_absolute() {
                written.to_path_buf()
            } else {
                server_prefix.join(written)
            };
            if !from_dump && !written.is_absolute() && !self.prefix.starts_with(root) {
                // A tree outside the root: relative names are the tree's own.
                return match lexical(&self.prefix.join(written)) {
                    Some(p) => Local::At(p),
                    None => Local::NotChecked(format!("{value} leads out of the file system")),
                };
            }
            return under_root(root, &server_path);
        }
        match self.loaded_from {
            LoadedFrom::Demo => {
                return Local::NotChecked(
                    "certificate files not checked: the built-in demo has none".into(),
                )
            }
            LoadedFrom::Dump => {
                return Local::NotChecked(
                    "certificate files not checked: nginx -T output names the server's files, not this machine's; use --root DIR with a copy of them".into(),
                )
            }
            LoadedFrom::Disk if self.from_stdin => {
                return Local::NotChecked(
                    "certificate files not checked: the configuration came from standard input; use --root DIR with a copy of the server's files".into(),
                )
            }
            LoadedFrom::Disk => {}
        }
        let path = if written.is_absolute() {
            written.to_path_buf()
        } else {
            self.prefix.join(written)
        };
        let Some(path) = lexical(&path) else {
            return Local::NotChecked(format!("{value} leads out of the file system"));
        };
        if installed(&self.prefix) || path.starts_with(&self.prefix) {
            Local::At(path)
        } else {
            Local::NotChecked(format!(
                "certificate files not checked: the tree was loaded from a copy ({}, not an installed place such as /etc/nginx), and {value} exists only on the server; use --root DIR",
                self.prefix.display()
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(prefix: &str, from: LoadedFrom, root: Option<&Path>) -> Config {
        let mut c = crate::conf::load_files(
            vec![(
                PathBuf::from(prefix).join("nginx.conf"),
                b"events {}".to_vec(),
            )],
            &PathBuf::from(prefix).join("nginx.conf"),
            from,
        );
        c.root = root.map(Path::to_path_buf);
        c
    }

    #[test]
    fn installed_trees_look_every_path_up() {
        let c = cfg("/etc/nginx", LoadedFrom::Disk, None);
        assert_eq!(
            c.local_file("/etc/ssl/ca.pem"),
            Local::At("/etc/ssl/ca.pem".into())
        );
        assert_eq!(
            c.local_file("certs/a.pem"),
            Local::At("/etc/nginx/certs/a.pem".into())
        );
    }

    #[test]
    fn a_copy_looks_up_only_its_own_files() {
        let c = cfg("/home/me/repo/nginx", LoadedFrom::Disk, None);
        assert!(
            matches!(c.local_file("/etc/ssl/ca.pem"), Local::NotChecked(w) if w.contains("--root"))
        );
        assert_eq!(
            c.local_file("certs/a.pem"),
            Local::At("/home/me/repo/nginx/certs/a.pem".into())
        );
        assert_eq!(
            c.local_file("/home/me/repo/nginx/certs/a.pem"),
            Local::At("/home/me/repo/nginx/certs/a.pem".into())
        );
        // `..` out of the tree is not the tree's own.
        assert!(matches!(
            c.local_file("../../../../etc/shadow"),
            Local::NotChecked(_)
        ));
    }

    #[test]
    fn dumps_and_the_demo_read_nothing_here() {
        for from in [LoadedFrom::Dump, LoadedFrom::Demo] {
            let c = cfg("/etc/nginx", from, None);
            assert!(matches!(c.local_file("/etc/passwd"), Local::NotChecked(_)));
            assert!(matches!(c.local_file("certs/a.pem"), Local::NotChecked(_)));
        }
    }

    #[test]
    fn root_maps_absolute_paths_and_stays_inside() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().canonicalize().unwrap();
        std::fs::create_dir_all(root.join("etc/nginx")).unwrap();
        std::fs::create_dir_all(root.join("etc/ssl")).unwrap();
        let outside = tempfile::tempdir().unwrap();
        std::os::unix::fs::symlink(outside.path(), root.join("etc/ssl/link")).unwrap();
        let prefix = root.join("etc/nginx");
        let c = cfg(prefix.to_str().unwrap(), LoadedFrom::Disk, Some(&root));
        assert_eq!(
            c.local_file("/etc/ssl/x.pem"),
            Local::At(root.join("etc/ssl/x.pem"))
        );
        assert_eq!(
            c.local_file("certs/a.pem"),
            Local::At(root.join("etc/nginx/certs/a.pem"))
        );
        assert!(matches!(
            c.local_file("/../../etc/passwd"),
            Local::NotChecked(w) if w.contains("leads out")
        ));
        assert!(matches!(
            c.local_file("/etc/ssl/link/x.pem"),
            Local::NotChecked(w) if w.contains("symbolic link")
        ));
        // A dump with --root: the server's paths, under the root.
        let d = cfg("/etc/nginx", LoadedFrom::Dump, Some(&root));
        assert_eq!(
            d.local_file("certs/a.pem"),
            Local::At(root.join("etc/nginx/certs/a.pem"))
        );
    }
}
