//! Auditing and fixing a server over SSH, with the system `ssh` client.
//!
//! hopscope never speaks SSH itself: it runs `ssh` (so `~/.ssh/config`,
//! agents, jump hosts and known hosts work as they do for the person), in
//! batch mode (no prompt can hang a run), with a timeout.
//!
//! - [`fetch_dump`] runs `[sudo -n] nginx [-c PATH] -T 2>&1` on the server
//!   and returns the dump, which the ordinary `nginx -T` loader reads (files
//!   are named by their absolute paths on the server).
//! - [`fetch_exec`] runs `--exec CMD` (through `sh -c`) on this machine,
//!   a command that prints `nginx -T` (`kubectl exec`, `docker exec`), and
//!   reads its output as [`fetch_dump`] reads the server's.
//! - [`apply`] writes fixed files on the server with ONE POSIX `sh -s`
//!   script fed on standard input: for every file it checks that the file
//!   still holds exactly what was loaded (sha256), keeps the original as
//!   its backup (a hard link `FILE.hopscope.bak`, or the next free
//!   `.bak.N`), writes the new file with the original's mode and owner in
//!   a private directory it makes next to it (`mktemp -d`) and renames it
//!   over the original; then it runs `nginx -t`, and when that fails puts
//!   every original back (removing the backups it made). Nothing is ever
//!   written, chmod-ed or chown-ed through a name another user of that
//!   directory could have planted or swapped (a symlink at a predictable
//!   name would otherwise make root write or give away any file). It
//!   reloads nginx only when asked. File names, contents and the nginx
//!   command travel base64-encoded, so nothing in them is ever parsed by a
//!   shell. The script is `remote/apply.sh`.
//! - [`Inventory`] reads a fleet: one host per line, or an Ansible-style
//!   INI inventory ([`crate::parallel::map_bounded`] audits its hosts a
//!   bounded number at a time).
//!
//! The files, by job: `target` (the server, its checks, the ssh command
//! line), `process` (one ssh run with a timeout and an output cap),
//! `nginx_output` (what nginx printed), `fetch` (`nginx -T`), `apply`
//! (with `apply.sh`), `inventory`, `tunnel` (one master connection of a
//! probe run: peers dialled from the server, files read there), and
//! `error`.

mod apply;
mod error;
mod exec;
mod fetch;
mod inventory;
mod nginx_output;
mod process;
mod target;
mod tunnel;

pub use apply::{apply, Applied, Written};
pub use error::{ErrorKind, RemoteError, TargetError, Via};
pub use exec::{fetch_exec, Exec, ExecError};
pub use fetch::fetch_dump;
pub use inventory::{BadVar, HostProblem, Inventory, InventoryError, LineProblem};
pub use process::MAX_OUTPUT;
pub use target::{
    check_destination, check_host, check_user, Remote, ALWAYS_SSH_OPTIONS, DEFAULT_TIMEOUT,
};
pub use tunnel::{Channel, Tunnel, MAX_SERVER_FILE};
