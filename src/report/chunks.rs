//! Writing a long list (the hops of `hops --json`, the findings of
//! `check`) on every core: the list is cut into chunks, threads render
//! chunks into buffers, and the buffers are written in the list's order as
//! they become ready. Only a few chunks per thread are in memory at once,
//! so a document of any size costs a bounded amount of memory.

use std::io::Write;
use std::ops::Range;
use std::sync::mpsc::{channel, sync_channel, Receiver, Sender, SyncSender};

/// At most this many threads render chunks (the writer is one more).
const MAX_THREADS: usize = 4;

/// How many rendered chunks a thread may have waiting to be written.
const AHEAD: usize = 2;

/// Renders items `0..count` in chunks of `per` items with
/// `render(range, buffer)` (which appends the chunk's text to the buffer)
/// and writes the chunks to `out` in order. With one core or one chunk it
/// renders in place; either way the bytes written are the same.
pub(crate) fn write_chunked<W: Write + ?Sized>(
    out: &mut W,
    count: usize,
    per: usize,
    render: impl Fn(Range<usize>, &mut Vec<u8>) + Sync,
) -> std::io::Result<()> {
    let per = per.max(1);
    let chunks = count.div_ceil(per);
    let range = |i: usize| i * per..((i + 1) * per).min(count);
    let threads = std::thread::available_parallelism()
        .map_or(1, usize::from)
        .min(MAX_THREADS)
        .min(chunks);
    if threads <= 1 {
        let mut buf = Vec::new();
        for i in 0..chunks {
            buf.clear();
            render(range(i), &mut buf);
            out.write_all(&buf)?;
        }
        return Ok(());
    }
    std::thread::scope(|s| {
        // Thread `t` renders chunks t, t + threads, t + 2 × threads, … and
        // sends each on its own channel; the writer takes them in turn and
        // sends the emptied buffers back to be filled again.
        let mut ready: Vec<Receiver<Vec<u8>>> = Vec::with_capacity(threads);
        let mut spent: Vec<Sender<Vec<u8>>> = Vec::with_capacity(threads);
        for t in 0..threads {
            let (to_writer, from_thread): (SyncSender<Vec<u8>>, _) = sync_channel(AHEAD);
            let (to_thread, recycled) = channel::<Vec<u8>>();
            ready.push(from_thread);
            spent.push(to_thread);
            let render = &render;
            s.spawn(move || {
                for i in (t..chunks).step_by(threads) {
                    let mut buf = recycled.try_recv().unwrap_or_default();
                    render(range(i), &mut buf);
                    // The writer has stopped (a closed pipe): so do we.
                    if to_writer.send(buf).is_err() {
                        break;
                    }
                }
            });
        }
        let mut result = Ok(());
        for i in 0..chunks {
            let t = i % threads;
            // A thread that ended early panicked; the scope raises it again.
            let Ok(mut buf) = ready[t].recv() else { break };
            result = out.write_all(&buf);
            if result.is_err() {
                break;
            }
            buf.clear();
            let _ = spent[t].send(buf);
        }
        // Dropping the channels tells threads still rendering to stop.
        drop(ready);
        result
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rendered(count: usize, per: usize) -> Vec<u8> {
        let mut out = Vec::new();
        write_chunked(&mut out, count, per, |r, buf| {
            for i in r {
                buf.extend_from_slice(format!("{i},").as_bytes());
            }
        })
        .unwrap();
        out
    }

    #[test]
    fn chunks_are_written_in_order() {
        for (count, per) in [(0, 3), (1, 3), (3, 3), (10, 3), (1000, 7), (5, 0)] {
            let want: String = (0..count).map(|i| format!("{i},")).collect();
            assert_eq!(String::from_utf8(rendered(count, per)).unwrap(), want);
        }
    }

    /// A writer that fails after a few writes, as a closed pipe does.
    struct Closes(usize);

    impl Write for Closes {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            if self.0 == 0 {
                return Err(std::io::ErrorKind::BrokenPipe.into());
            }
            self.0 -= 1;
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn a_failed_write_stops_the_rendering_and_is_returned() {
        let err = write_chunked(&mut Closes(3), 10_000, 1, |r, buf| {
            buf.extend_from_slice(format!("{r:?}").as_bytes())
        })
        .unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::BrokenPipe);
    }
}
