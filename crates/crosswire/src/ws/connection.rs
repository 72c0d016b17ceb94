//! The life of one upgraded connection: join, `open`, read and dispatch
//! messages, keep-alive, the closing handshake, `close`.
//!
//! One task serves a connection, with two halves in it (see
//! [`super::duplex`]). The reader owns the read half: it decodes frames,
//! runs the hooks one at a time (so they see messages in arrival order),
//! answers pings, records activity and enforces the closing timeout.
//! Keep-alive pings and idle timeouts come from one sweep per server
//! ([`super::keepalive`]), not from a timer per connection. The writer
//! ([`super::writer`]) owns the write half and drains the peer's send queue.
//! They talk only through the [`Outbox`](super::outbox::Outbox), as they did
//! when they were two tasks.
//!
//! An idle connection holds no read buffer: the reader waits for readiness and
//! allocates only when bytes arrive, releasing the buffer again once every
//! complete frame has been consumed.
//!
//! The task runs inside one span per connection, `ws`, with the peer id,
//! the remote address, the route pattern and the path. It is an `info` span
//! so that what is logged inside it at the default level (a hook's error or
//! panic) carries those fields; the span itself prints nothing, and nothing
//! is logged per message at any level above `trace`. Opens and closes (with
//! the close code and reason) are `debug` events: one line per connection
//! is too many for a busy server's default log. An enabled span is kept by
//! the subscriber for the connection's life; with `crosswire::ws` at `warn`
//! it is disabled and costs nothing.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use crosswire_proto::deflate::InflateParams;
use crosswire_proto::{CloseFrame, Decoder, Event, OpCode, ProtocolError};
use tokio::time::{Sleep, sleep, timeout};
use tracing::Instrument;

use super::close_info::CloseInfo;
use super::dispatch::{BoxFuture, DynHandler, run_hook};
use super::duplex::Duplex;
use super::message::Message;
use super::outbox::{OutFrame, Outbox, copies_frame_of};
use super::park::park;
use super::peer::Peer;
use super::rate::{Bucket, RateCounters, admit};
use super::transport::{ReadSide, Transport, WriteSide};
use super::writer::run_writer;
use crate::config::{OverflowPolicy, WebSocketConfig};
use crate::error::WebSocketError;
use crate::metrics::{Hook, Limit};
use crate::server::TaskGuard;
use crate::shared::Shared;

/// Bytes reserved per read; large enough for a burst of small messages.
const READ_CHUNK: usize = 16 * 1024;

/// When the read loop lets its worker's writers run, while its client sends
/// without pause.
///
/// After a full read, the loop yields once it has dispatched
/// [`YIELD_AFTER_MESSAGES`] messages, [`YIELD_AFTER_COPIED_MESSAGES`] of
/// them small enough to be copied into each subscriber's queue, or made
/// [`YIELD_AFTER_FULL_READS`] full reads since it last yielded. What the
/// hooks published meanwhile goes out when the loop yields, as one run per
/// topic that every subscriber queues with one push and writes with one
/// slice (`pubsub/members.rs`), so the limits set how much a subscriber's
/// write carries.
///
/// Small messages never reach them in practice: a chat burst of a thousand
/// short lines fits one 16 KiB read, which drains the socket. Larger ones
/// do. Frames of up to 1 KiB are copied ([`copies_frame_of`]), and
/// counted against each subscriber's queue and the server's budget, so at
/// most 64 of them (64 KiB) go out per yield, as before; the budget must hold what one
/// round queues for every peer before the writers run. Larger frames are
/// shared, counted once, and go out in longer runs: yielding after 64
/// messages or four reads made a write per 64 KiB for each subscriber,
/// where Bun's loop writes what a whole read brought. Measured on a fan-out
/// to 1 000 subscribers, one worker, server CPU per delivered message: 1 KiB
/// messages (1 028-byte frames) 192 to 136 ns, 4 KiB 690–770 to 480–490
/// ns, 16 KiB 3.3 to 2.5 µs; chat-32 unchanged. A client flooding with
/// large messages still yields after at most 16 full reads.
const YIELD_AFTER_MESSAGES: u16 = 256;
/// See [`YIELD_AFTER_MESSAGES`].
const YIELD_AFTER_COPIED_MESSAGES: u8 = 64;
/// See [`YIELD_AFTER_MESSAGES`]: 16 reads that filled their 16 KiB chunk.
const YIELD_AFTER_FULL_READS: u8 = 16;

/// Reads in a row that filled their chunk (more is probably waiting), and
/// messages dispatched since the read loop last let the writers run.
#[derive(Default)]
struct Burst {
    full_reads: u8,
    dispatched: u16,
    /// Of `dispatched`, those a subscriber's queue would copy.
    copied: u8,
}

impl Burst {
    /// A message went to its hook; `copied`: its frame is small enough to
    /// be copied into each subscriber's queue.
    fn dispatched(&mut self, copied: bool) {
        self.dispatched = self.dispatched.saturating_add(1);
        if copied {
            self.copied = self.copied.saturating_add(1);
        }
    }

    /// A read of `n` bytes. One that did not fill its chunk drained the
    /// socket: the task parks at its next read, and the writers run then.
    fn read(&mut self, n: usize) {
        if n >= READ_CHUNK {
            self.full_reads = self.full_reads.saturating_add(1);
        } else {
            *self = Self::default();
        }
    }

    /// True when the loop should yield before reading again.
    fn yield_due(&self) -> bool {
        self.full_reads > 0
            && (self.dispatched >= YIELD_AFTER_MESSAGES
                || self.copied >= YIELD_AFTER_COPIED_MESSAGES
                || self.full_reads >= YIELD_AFTER_FULL_READS)
    }
}

/// How the read loop ended.
struct Ended {
    close: CloseInfo,
    error: Option<WebSocketError>,
    /// Where the client stood: what the end of the socket waits for.
    client: ClientEnd,
}

/// Where the client stood when the read loop ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ClientEnd {
    /// It may still be sending (we failed the connection, or it went
    /// silent): after our close frame, the socket stays open until it
    /// hangs up, within the close timeout.
    MaySend,
    /// Its close frame was read, or it hung up: it sends nothing more, so
    /// once our frame is written the socket is closed at once.
    Done,
    /// It did not answer our close frame within the close timeout: the
    /// socket is closed now, with nothing more written or awaited.
    TimedOut,
}

impl Ended {
    fn dropped() -> Self {
        Self {
            close: CloseInfo::new(1006, ""),
            error: None,
            client: ClientEnd::Done,
        }
    }
}

/// Serves an upgraded connection until it is closed, then runs `close`.
///
/// A plain function returning the future, so the future keeps only what the
/// connection needs while it lives (an idle connection's memory is mostly
/// this future): a plain TCP socket is shared by the two halves, not split
/// (see [`super::transport`]). `guard` is kept until the connection ends (it
/// counts the connection as live for the server).
pub(crate) fn serve_connection(
    stream: Transport,
    already_read: Bytes,
    peer: Peer,
    handler: Arc<dyn DynHandler>,
    guard: TaskGuard,
) -> impl Future<Output = ()> + Send {
    // A root span: the connection outlives the HTTP request it came from,
    // and may be started from inside that request's span.
    let span = tracing::info_span!(
        target: "crosswire::ws",
        parent: None,
        "ws",
        peer = %peer,
        remote = %peer.remote_address(),
        route = peer.request().route(),
        path = peer.request().path(),
    );
    if cfg!(unix) && matches!(stream, Transport::Tcp(_)) {
        peer.outbox().parking().allow();
    }
    let (read_side, write_side) = stream.split();
    let inflate = peer.outbox().inflate_params();
    let reader = Reader::new(read_side, &already_read, peer.shared(), inflate);
    drop(already_read);
    // The span and the guard go into the duplex's shared block rather than
    // the future, whose every byte each idle connection pays for.
    let duplex = Duplex::for_connection(Arc::clone(peer.shared()), span, guard);
    lifecycle(reader, write_side, peer, handler, duplex, false)
}

/// The task of a parked connection, woken: the conversation goes on where
/// it was, without the `open` hook (see `park.rs`).
pub(super) fn resume(
    reader: Reader,
    write_side: WriteSide,
    peer: Peer,
    handler: Arc<dyn DynHandler>,
    duplex: Duplex,
) -> impl Future<Output = ()> + Send {
    lifecycle(reader, write_side, peer, handler, duplex, true)
}

/// The end of a parked connection whose client hung up, or whose socket
/// could not be handed back to the runtime: it ends as a dropped connection
/// would (1006), with its hooks.
pub(super) async fn farewell(peer: Peer, handler: Arc<dyn DynHandler>, duplex: Duplex) {
    peer.outbox().terminate();
    finish(&peer, &handler, Ended::dropped()).await;
    peer.outbox().forget_reader_waker();
    drop(duplex);
}

/// The conversation, with the writer alongside, then the end of the socket.
///
/// An `async` block rather than an `async fn`: the arguments of an `async fn`
/// are kept twice in its future (as passed, and moved into the body), which
/// for the reader alone cost every idle connection a few hundred bytes.
#[allow(
    clippy::manual_async_fn,
    reason = "an async fn would store its arguments twice"
)]
fn lifecycle(
    mut reader: Reader,
    mut write_side: WriteSide,
    peer: Peer,
    handler: Arc<dyn DynHandler>,
    mut duplex: Duplex,
    resumed: bool,
) -> impl Future<Output = ()> + Send {
    async move {
        // Whether the connection is to park, once the halves' futures, which
        // borrow its parts, are gone.
        let parks = 'run: {
            let mut writer = std::pin::pin!(run_writer(Arc::clone(peer.outbox()), &mut write_side));
            let rest = {
                let conversation = std::pin::pin!(converse(&mut reader, &peer, &handler, resumed));
                duplex.run(conversation, writer.as_mut()).await
            };
            let finished = match rest {
                Rest::Ended(finished) => finished,
                // Both halves wait with nothing to do: their futures hold
                // nothing worth keeping.
                Rest::Parked => break 'run true,
            };
            let writer_done = duplex.writer_done();
            // A client that left our close unanswered for the close timeout
            // gets no second one: the socket closes now.
            if finished.client != ClientEnd::TimedOut && (!writer_done || finished.sent_close) {
                // Boxed, like `finish`: it happens once, and its state
                // (timers, and what it must remember across them) would widen
                // the future every idle connection is parked in.
                let span = duplex.span().cloned().unwrap_or_else(tracing::Span::none);
                Box::pin(
                    wind_down(
                        writer,
                        writer_done,
                        &mut reader,
                        &peer,
                        finished.await_hangup(),
                    )
                    .instrument(span),
                )
                .await;
            }
            false
        };
        if parks {
            // The read loop parks only inside a runtime (it checked).
            if let Ok(runtime) = tokio::runtime::Handle::try_current() {
                park(reader, write_side, peer, handler, duplex, &runtime);
                return;
            }
            peer.outbox().parking().disallow();
            Box::pin(farewell(peer, handler, duplex)).await;
            return;
        }
        // The send queue lives as long as any handle to the peer, and the
        // reader's waker it keeps would keep the waker block, and the span
        // in it, alive that long too.
        peer.outbox().forget_reader_waker();
    }
}

/// After the conversation: lets the writer finish (bounded by the close
/// timeout), then, if `await_hangup`, waits for the client to close its
/// side, so the socket is not reset under data the client is still reading.
async fn wind_down<W: Future<Output = ()>>(
    writer: std::pin::Pin<&mut W>,
    writer_done: bool,
    reader: &mut Reader,
    peer: &Peer,
    await_hangup: bool,
) {
    let close_timeout = peer.shared().websocket.close_timeout;
    if !writer_done && timeout(close_timeout, writer).await.is_err() {
        return;
    }
    if await_hangup {
        reader.drain_until_eof(close_timeout).await;
    }
}

/// `open` (unless `resumed` from parking), the read loop, then [`finish`],
/// unless the connection parks.
#[allow(
    clippy::manual_async_fn,
    reason = "an async fn would store its arguments twice"
)]
fn converse<'a>(
    reader: &'a mut Reader,
    peer: &'a Peer,
    handler: &'a Arc<dyn DynHandler>,
    resumed: bool,
) -> impl Future<Output = Rest> + Send + 'a {
    async move {
        if !resumed {
            tracing::debug!(target: "crosswire::ws", "open");
            let shared = peer.shared();
            shared.join(peer);
            if shared.is_shutting_down() {
                // The shutdown's sweep over the peer set may have run just
                // before this peer joined it; a peer must not outlive the
                // server's close.
                let (code, reason) = shared.shutdown_close();
                let _ = peer.close(code, reason);
            }
            run_hook(peer, Hook::Open, || handler.open(peer.clone())).await;
        }

        // Taken out before `finish` rather than matched around it: an arm
        // awaiting in the `match` kept the read loop's room in the future
        // alongside `finish`'s.
        let ended = match reader.run(peer, handler).await {
            Stop::Ended(ended) => ended,
            Stop::Park => return Rest::Parked,
        };
        Rest::Ended(finish(peer, handler, ended).await)
    }
}

/// How a run of the connection's task ended.
enum Rest {
    /// The connection ended.
    Ended(Finished),
    /// It went quiet and is to be parked, then woken on the runtime it
    /// ran on (see `park.rs`).
    Parked,
}

/// How the read loop stopped.
enum Stop {
    Ended(Ended),
    /// See [`Rest::Parked`].
    Park,
}

/// How the socket ends once the hooks have run.
#[derive(Clone, Copy)]
struct Finished {
    /// The writer ends with our close frame, so it is let finish.
    sent_close: bool,
    /// Where the client stood when the read loop ended.
    client: ClientEnd,
}

impl Finished {
    /// After our close frame, the server waits (up to the close timeout)
    /// for the client to hang up before closing the socket: only when the
    /// client may still be sending, as after a protocol error. Once both
    /// close frames have crossed, the server closes the connection first,
    /// as RFC 6455 §7.1.1 asks, instead of holding it open for a client
    /// that waits for just that.
    fn await_hangup(self) -> bool {
        self.sent_close && self.client == ClientEnd::MaySend
    }
}

/// After the read loop: leave, the `error` and `close` hooks, then tells the
/// writer to stop unless a close frame is what it writes last.
///
/// Boxed: the end of a connection happens once, and inline its state would
/// widen the future every idle connection is parked in (made by a plain
/// function, so the caller keeps only the box across its await).
fn finish<'a>(
    peer: &'a Peer,
    handler: &'a Arc<dyn DynHandler>,
    ended: Ended,
) -> BoxFuture<'a, Finished> {
    Box::pin(finish_inline(peer, handler, ended))
}

async fn finish_inline(peer: &Peer, handler: &Arc<dyn DynHandler>, ended: Ended) -> Finished {
    let client = ended.client;
    let shared = peer.shared();
    if let Some(metrics) = shared.metrics() {
        metrics.events.closed(ended.close.code);
        if let Some(limit) = ended.error.as_ref().and_then(Limit::of) {
            metrics.events.limit_close(limit);
        }
    }

    shared.leave(peer.key());
    peer.leave_topics();
    if let Some(error) = ended.error {
        match &error {
            // A limit crossed: named in the log at the default level.
            WebSocketError::ServerQueueBudget { .. } => {
                tracing::info!(target: "crosswire::ws", %error, "closed with 1008: [server] max_queued_bytes");
            }
            WebSocketError::SendQueueFull { .. } => {
                tracing::info!(target: "crosswire::ws", %error, "closed with 1008: [websocket] send_queue_bytes");
            }
            WebSocketError::WorkerBehind { .. } => {
                tracing::info!(target: "crosswire::ws", %error, "closed with 1013: the peer's worker fell behind");
            }
            WebSocketError::Protocol(protocol) => match limit_setting(protocol) {
                Some(setting) => {
                    tracing::info!(target: "crosswire::ws", %error, setting, "closed with 1009: a size limit");
                }
                None => tracing::debug!(target: "crosswire::ws", %error, "connection failed"),
            },
            _ => tracing::debug!(target: "crosswire::ws", %error, "connection failed"),
        }
        run_hook(peer, Hook::Error, || handler.error(peer.clone(), error)).await;
    }
    tracing::debug!(
        target: "crosswire::ws",
        code = ended.close.code,
        reason = ended.close.reason.as_str(),
        "close"
    );
    run_hook(peer, Hook::Close, || {
        handler.close(peer.clone(), ended.close)
    })
    .await;

    // The writer flushes what is queued (the close frame last), bounded by
    // the caller.
    let outbox = peer.outbox();
    let sent_close = outbox.is_closing() && !outbox.is_terminated();
    if !sent_close {
        outbox.terminate();
    }
    Finished { sent_close, client }
}

/// Bytes of the reader state held by the connection's future.
#[cfg(test)]
pub(crate) fn reader_size() -> usize {
    std::mem::size_of::<Reader>()
}

/// The read side of a connection.
pub(super) struct Reader {
    io: ReadSide,
    buf: BytesMut,
    decoder: Decoder,
    /// Created by the first ping or pong (see `rate.rs`).
    control_bucket: Option<Box<Bucket>>,
    /// Created by the first message, when messages are limited.
    message_bucket: Option<Box<Bucket>>,
}

/// A reader without its socket: what a parked connection keeps of it.
pub(super) struct ReaderState {
    buf: BytesMut,
    decoder: Decoder,
    control_bucket: Option<Box<Bucket>>,
    message_bucket: Option<Box<Bucket>>,
}

impl ReaderState {
    /// Reads what `socket` holds now, without waiting, after what the
    /// buffer holds; `Ok(0)`: the client hung up.
    #[cfg(unix)]
    pub(super) fn read_waiting(&mut self, socket: &std::net::TcpStream) -> std::io::Result<usize> {
        use std::io::Read;
        let start = self.buf.len();
        self.buf.resize(start + READ_CHUNK, 0);
        let read = (&*socket).read(self.buf.get_mut(start..).unwrap_or_default());
        self.buf
            .truncate(start + read.as_ref().map_or(0, |read| *read));
        read
    }
}

/// What to do with a data message, given the message rate.
enum Admission {
    Dispatch,
    Drop,
    Close(WebSocketError),
}

impl Reader {
    fn new(
        io: ReadSide,
        already_read: &[u8],
        shared: &Shared,
        inflate: Option<InflateParams>,
    ) -> Self {
        // The server's limits, shared; a peer that compresses has its own
        // copy with its inflate parameters.
        let decoder = match inflate {
            None => Decoder::with_shared_config(Arc::clone(&shared.decoder_config)),
            Some(params) => Decoder::new(shared.decoder_config.with_inflate(params)),
        };
        Self {
            io,
            buf: BytesMut::from(already_read),
            decoder,
            control_bucket: None,
            message_bucket: None,
        }
    }

    /// The socket side and the rest, apart.
    pub(super) fn into_parts(self) -> (ReadSide, ReaderState) {
        let state = ReaderState {
            buf: self.buf,
            decoder: self.decoder,
            control_bucket: self.control_bucket,
            message_bucket: self.message_bucket,
        };
        (self.io, state)
    }

    /// The reader of [`Self::into_parts`], together again.
    pub(super) fn from_parts(io: ReadSide, state: ReaderState) -> Self {
        Self {
            io,
            buf: state.buf,
            decoder: state.decoder,
            control_bucket: state.control_bucket,
            message_bucket: state.message_bucket,
        }
    }

    /// Whether a data message is within `max_messages_per_second`.
    fn admit_message(&mut self, config: &WebSocketConfig, counters: &RateCounters) -> Admission {
        let limit = config.max_messages_per_second;
        if admit(&mut self.message_bucket, limit, config.message_burst) {
            return Admission::Dispatch;
        }
        match config.on_message_rate {
            OverflowPolicy::DropMessage => {
                RateCounters::count(&counters.messages_dropped);
                Admission::Drop
            }
            OverflowPolicy::Close => {
                RateCounters::count(&counters.closed_for_messages);
                Admission::Close(WebSocketError::MessageRate { limit })
            }
        }
    }

    /// Whether a ping or pong is within `max_control_frames_per_second`.
    fn admit_control(
        &mut self,
        config: &WebSocketConfig,
        counters: &RateCounters,
    ) -> Option<WebSocketError> {
        let limit = config.max_control_frames_per_second;
        if admit(&mut self.control_bucket, limit, limit) {
            return None;
        }
        RateCounters::count(&counters.closed_for_control_frames);
        Some(WebSocketError::ControlFrameFlood { limit })
    }

    /// Reads and dispatches until the connection ends or parks.
    ///
    /// Written as a function returning an `async` block rather than as an
    /// `async fn`: an `async fn` keeps its arguments twice in its state (as
    /// passed, and as locals), and this state is part of every idle
    /// connection's task.
    #[allow(
        clippy::manual_async_fn,
        reason = "an async fn would store its arguments twice"
    )]
    fn run<'a>(
        &'a mut self,
        peer: &'a Peer,
        handler: &'a Arc<dyn DynHandler>,
    ) -> impl Future<Output = Stop> + Send + 'a {
        async move {
            // The send queue and the metrics are reached through the peer
            // where used, not kept in locals: what lives across an await here
            // is stored in every idle connection's task.
            // Set once the server has started a close: the timer for the client's
            // answer and the failure that caused it, if any (boxed, so idle
            // connections carry neither inline).
            let mut closing: Option<Box<Closing>> = None;
            let mut burst = Burst::default();

            loop {
                // Everything complete in the buffer, in order. Only the hook's
                // future is held while it runs: the decoded event, the rate
                // checks and the message itself (moved into the hook) are done
                // with by then, so an idle connection's future does not carry
                // room for them.
                loop {
                    let hook = {
                        let event = match self.decoder.decode(&mut self.buf) {
                            Ok(Some(event)) => event,
                            Ok(None) => break,
                            Err(error) => return Stop::Ended(fail(peer, error)),
                        };
                        let message = match self.screen(event, &mut closing, peer) {
                            Screened::Message(message) => message,
                            Screened::Done => continue,
                            Screened::Ended(ended) => return Stop::Ended(ended),
                        };
                        let outbox = peer.outbox();
                        outbox.parking().mark_active();
                        if let Some(metrics) = outbox.metrics() {
                            metrics.message_received();
                        }
                        burst.dispatched(copies_frame_of(message.len()));
                        run_hook(peer, Hook::Message, || {
                            handler.message(peer.clone(), message)
                        })
                    };
                    hook.await;
                }
                let outbox = peer.outbox();
                if outbox.is_terminated() {
                    return Stop::Ended(Ended::dropped());
                }
                if closing.is_none() && outbox.is_closing() {
                    let cause = outbox.take_cause();
                    if let Some(error @ WebSocketError::IdleTimeout(_)) = cause {
                        // A peer silent that long is most likely gone: report
                        // the close now rather than wait for an answer.
                        return Stop::Ended(server_closed(outbox, Some(error), ClientEnd::MaySend));
                    }
                    closing = Some(Closing::start(peer.shared().websocket.close_timeout, cause));
                }
                if burst.yield_due() {
                    // A client that sends without pause would otherwise keep this
                    // task running read after read, and the writers of its worker
                    // (its own, and every subscriber it publishes to) would not
                    // drain their queues until it stopped: yield so they write
                    // what is queued.
                    burst = Burst::default();
                    tokio::task::yield_now().await;
                    // The queue's signal is looked at when a read finds
                    // nothing (below): a client that keeps sending would hold
                    // off the drain hook for as long as it sends, so it is
                    // also looked for here.
                    if peer.outbox().take_drain_due() {
                        run_hook(peer, Hook::Drain, || handler.drain(peer.clone())).await;
                    }
                }

                // One poll function rather than `select!` over three futures:
                // this wait is where an idle connection's task rests, so its
                // state is what every idle connection stores. Once closing,
                // the close timer comes first, so a client that keeps sending
                // after our close cannot keep it from firing. Otherwise data
                // comes first, and the queue's signal is looked at when there
                // is none: a close or a termination it would announce is also
                // seen at the top of every turn of this loop, and the drain
                // hook can wait for a pause in the client's sending.
                let wake = std::future::poll_fn(|cx| {
                    if let Some(closing) = closing.as_mut()
                        && closing.timer.as_mut().poll(cx).is_ready()
                    {
                        return Poll::Ready(Wake::CloseTimeout);
                    }
                    match self.poll_read_more(cx) {
                        Poll::Ready(Ok(0) | Err(_)) => Poll::Ready(Wake::Hangup),
                        Poll::Ready(Ok(n)) => Poll::Ready(Wake::Data(n)),
                        Poll::Pending if closing.is_none() => {
                            let outbox = peer.outbox();
                            if outbox.poll_reader_wanted(cx).is_ready() {
                                Poll::Ready(Wake::Wanted)
                            } else if outbox.parking().may_park()
                                // Not with part of a frame read: the rest
                                // is most likely on its way.
                                && self.buf.is_empty()
                                && tokio::runtime::Handle::try_current().is_ok()
                                && outbox.quiet_for_parking()
                            {
                                Poll::Ready(Wake::Park)
                            } else {
                                Poll::Pending
                            }
                        }
                        Poll::Pending => Poll::Pending,
                    }
                })
                .await;
                let outbox = peer.outbox();
                match wake {
                    Wake::Data(n) => {
                        if let Some(metrics) = outbox.metrics() {
                            metrics.bytes_received(n);
                        }
                        burst.read(n);
                        outbox.touch();
                    }
                    Wake::Wanted => {
                        burst = Burst::default();
                        if outbox.take_drain_due() {
                            run_hook(peer, Hook::Drain, || handler.drain(peer.clone())).await;
                        }
                    }
                    // We closed and the client hung up or never answered: the
                    // close we sent is the best account of what happened.
                    Wake::Hangup | Wake::CloseTimeout => {
                        let client = match wake {
                            Wake::CloseTimeout => ClientEnd::TimedOut,
                            _ => ClientEnd::Done,
                        };
                        return Stop::Ended(match closing {
                            Some(closing) => server_closed(outbox, closing.cause, client),
                            None => Ended::dropped(),
                        });
                    }
                    Wake::Park => return Stop::Park,
                }
            }
        }
    }

    /// What a decoded event asks for, short of running a hook: rate limits,
    /// pongs, the client's close, and nothing dispatched once closing.
    fn screen(
        &mut self,
        event: Event,
        closing: &mut Option<Box<Closing>>,
        peer: &Peer,
    ) -> Screened {
        let outbox = peer.outbox();
        let shared = peer.shared();
        let (config, counters) = (&shared.websocket, &shared.rate_counters);
        // Over a rate limit: the close starts now, and nothing more the
        // client sends is dispatched.
        let over = match &event {
            _ if closing.is_some() => None,
            Event::Text(_) | Event::Binary(_) => match self.admit_message(config, counters) {
                Admission::Dispatch => None,
                Admission::Drop => return Screened::Done,
                Admission::Close(error) => Some(error),
            },
            Event::Ping(_) | Event::Pong(_) => self.admit_control(config, counters),
            Event::Close(_) => None,
        };
        if let Some(error) = over {
            let setting = match error {
                WebSocketError::ControlFrameFlood { .. } => {
                    "[websocket] max_control_frames_per_second"
                }
                _ => "[websocket] max_messages_per_second",
            };
            tracing::info!(target: "crosswire::ws", %error, setting, "closed with 1008: a rate limit");
            let mut reason = error.to_string();
            truncate_utf8(&mut reason, 123);
            // What this connection's hooks published comes before the close.
            peer.deliver_held();
            outbox.fail(CloseFrame { code: 1008, reason }, error);
            let cause = outbox.take_cause();
            *closing = Some(Closing::start(config.close_timeout, cause));
            return Screened::Done;
        }
        match event {
            Event::Text(_) | Event::Binary(_) | Event::Ping(_) if closing.is_some() => {
                Screened::Done
            }
            Event::Text(data) => Screened::Message(Message::from_parts(data, true)),
            Event::Binary(data) => Screened::Message(Message::from_parts(data, false)),
            Event::Ping(data) => {
                outbox.push(&OutFrame::new(OpCode::Pong, data));
                Screened::Done
            }
            Event::Pong(_) => Screened::Done,
            Event::Close(frame) => {
                let info = match &frame {
                    Some(f) => CloseInfo::new(f.code, f.reason.clone()),
                    None => CloseInfo::new(1005, ""),
                };
                // Echo the client's code (RFC 6455 §5.5.1); if we had
                // already sent ours, this is the answer to it. What this
                // connection's hooks published comes before it.
                peer.deliver_held();
                outbox.close(frame.as_ref());
                let error = closing.take().and_then(|closing| closing.cause);
                Screened::Ended(Ended {
                    close: info,
                    error,
                    client: ClientEnd::Done,
                })
            }
        }
    }

    /// Waits for the socket to be readable, then reads what is there.
    ///
    /// Written against readiness rather than `AsyncRead`, so that no buffer
    /// is held while waiting: a busy connection keeps reusing its buffer (the
    /// messages split off it are usually gone by the next read, so `reserve`
    /// reclaims it in place), and the buffer is released only when a read
    /// finds nothing and the task is about to wait.
    async fn read_more(&mut self) -> std::io::Result<usize> {
        std::future::poll_fn(|cx| self.poll_read_more(cx)).await
    }

    /// [`Self::read_more`], polled.
    fn poll_read_more(&mut self, cx: &mut Context<'_>) -> Poll<std::io::Result<usize>> {
        match &mut self.io {
            ReadSide::Tcp(io) => loop {
                if io.poll_read_ready(cx)?.is_pending() {
                    // Idle: no read buffer is held while waiting.
                    if self.buf.is_empty() && self.buf.capacity() > 0 {
                        self.buf = BytesMut::new();
                    }
                    return Poll::Pending;
                }
                self.buf.reserve(READ_CHUNK);
                let room = self.buf.capacity() - self.buf.len();
                let buf = &mut self.buf;
                match read_settling(io, room, || io.try_read_buf(buf)) {
                    Ok(n) => return Poll::Ready(Ok(n)),
                    Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
                    Err(e) => return Poll::Ready(Err(e)),
                }
            },
            #[cfg(feature = "tls")]
            ReadSide::Tls(io) => poll_read_stream(io, &mut self.buf, cx),
            ReadSide::Upgraded(io) => poll_read_stream(io, &mut self.buf, cx),
        }
    }

    /// Discards whatever the client still sends until it closes, bounded.
    async fn drain_until_eof(&mut self, limit: Duration) {
        let _ = timeout(limit, async {
            loop {
                self.buf.clear();
                match self.read_more().await {
                    Ok(0) | Err(_) => return,
                    Ok(_) => {}
                }
            }
        })
        .await;
    }
}

/// Reads once from `stream` with `read` (a non-blocking read into at most
/// `room` bytes), and when that read took less than `room`, all the socket
/// had, clears the socket's read readiness: the next read then waits for new
/// data instead of making the system call that would only return
/// `WouldBlock` (which is what clears readiness otherwise), one per message
/// that arrives alone, as an echo's does.
///
/// The read runs inside `try_io`, which notes the readiness event it starts
/// from and clears only that one: if data arrived during the read and its
/// event was recorded meanwhile (by another thread driving the runtime's
/// I/O), readiness stays set. The same pattern as tokio's own `poll_read`.
pub(crate) fn read_settling(
    stream: &tokio::net::TcpStream,
    room: usize,
    mut read: impl FnMut() -> std::io::Result<usize>,
) -> std::io::Result<usize> {
    let mut took = None;
    let settled = stream.try_io(tokio::io::Interest::READABLE, || {
        let n = read()?;
        took = Some(n);
        if n > 0 && n < room {
            Err(std::io::ErrorKind::WouldBlock.into())
        } else {
            Ok(n)
        }
    });
    match took {
        Some(n) => Ok(n),
        None => settled,
    }
}

/// Reads (decrypted, for TLS) bytes into `buf` through a chunk on the
/// stack, so that no buffer of the connection's is held while the read waits.
fn poll_read_stream<T: tokio::io::AsyncRead>(
    io: &mut tokio::io::ReadHalf<T>,
    buf: &mut BytesMut,
    cx: &mut std::task::Context<'_>,
) -> Poll<std::io::Result<usize>> {
    use tokio::io::{AsyncRead, ReadBuf};
    let mut chunk = [std::mem::MaybeUninit::<u8>::uninit(); READ_CHUNK];
    let mut read = ReadBuf::uninit(&mut chunk);
    ready!(Pin::new(io).poll_read(cx, &mut read))?;
    let filled = read.filled();
    buf.extend_from_slice(filled);
    Poll::Ready(Ok(filled.len()))
}

/// What woke the reader.
enum Wake {
    /// This many bytes were read.
    Data(usize),
    Hangup,
    /// The outbox wants the reader: a close started, or a drain is due.
    Wanted,
    CloseTimeout,
    /// Nothing to read or write, and the connection is quiet: it parks.
    Park,
}

/// A close the server started: the timer for the client's answer, and the
/// failure that caused it, if any.
struct Closing {
    timer: Pin<Box<Sleep>>,
    cause: Option<WebSocketError>,
}

impl Closing {
    fn start(limit: Duration, cause: Option<WebSocketError>) -> Box<Self> {
        Box::new(Self {
            timer: Box::pin(sleep(limit)),
            cause,
        })
    }
}

/// What to do after a decoded event.
enum Screened {
    /// Run the `message` hook with it.
    Message(Message),
    /// Nothing more: go on decoding.
    Done,
    /// The client closed: the read loop ends.
    Ended(Ended),
}

/// Fails the connection on a protocol error: close with the error's code.
fn fail(peer: &Peer, error: ProtocolError) -> Ended {
    let code = error.close_code();
    let mut reason = error.to_string();
    truncate_utf8(&mut reason, 123);
    peer.deliver_held();
    peer.outbox().close(Some(&CloseFrame {
        code,
        reason: reason.clone(),
    }));
    Ended {
        close: CloseInfo::new(code, reason),
        error: Some(WebSocketError::Protocol(error)),
        client: ClientEnd::MaySend,
    }
}

/// The connection ended after a server-initiated close that the client did
/// not answer with a close frame.
fn server_closed(outbox: &Outbox, error: Option<WebSocketError>, client: ClientEnd) -> Ended {
    let close = match outbox.sent_close() {
        Some(frame) => CloseInfo::new(frame.code, frame.reason),
        None => CloseInfo::new(1006, ""),
    };
    Ended {
        close,
        error,
        client,
    }
}

/// The setting a protocol error crossed, when it is a size limit.
fn limit_setting(error: &ProtocolError) -> Option<&'static str> {
    match error {
        ProtocolError::FrameTooLarge { .. } => Some("[websocket] max_frame_size"),
        ProtocolError::MessageTooLarge { .. } => Some("[websocket] max_message_size"),
        ProtocolError::TooManyFragments { .. } => Some("[websocket] max_fragments"),
        _ => None,
    }
}

/// Shortens `text` to at most `max` bytes on a character boundary.
fn truncate_utf8(text: &mut String, max: usize) {
    if text.len() > max {
        let mut end = max;
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        text.truncate(end);
    }
}

#[cfg(test)]
mod burst_tests {
    use super::*;

    /// A burst of `len`-byte messages, `per_read` of them per full read:
    /// how many go to their hooks before the loop yields.
    fn messages_before_yield(len: usize, per_read: usize) -> usize {
        let mut burst = Burst::default();
        let mut dispatched = 0;
        loop {
            burst.read(READ_CHUNK);
            for _ in 0..per_read {
                burst.dispatched(copies_frame_of(len));
                dispatched += 1;
            }
            if burst.yield_due() {
                return dispatched;
            }
        }
    }

    #[test]
    fn copied_messages_yield_after_64_kib_and_shared_ones_run_longer() {
        // Frames copied into each queue: 64 per yield at most.
        assert_eq!(messages_before_yield(1000, 16), 64);
        assert_eq!(messages_before_yield(1020, 16), 64);
        // 1 KiB payloads make 1028-byte frames, which are shared.
        assert_eq!(messages_before_yield(1024, 16), 256);
        // Large ones: 16 full reads.
        assert_eq!(messages_before_yield(4096, 4), 64);
        // Short chat lines fill a read with hundreds: a yield after each
        // full read.
        assert_eq!(messages_before_yield(20, 500), 500);
    }

    #[test]
    fn a_read_that_drains_the_socket_starts_a_new_burst() {
        let mut burst = Burst::default();
        for _ in 0..63 {
            burst.dispatched(true);
        }
        burst.read(100);
        burst.dispatched(true);
        burst.read(READ_CHUNK);
        assert!(!burst.yield_due());
    }
}
