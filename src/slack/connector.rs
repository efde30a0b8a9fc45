//! The ureq connector chain: TCP (through a `CONNECT` proxy if configured), TLS with *our*
//! [`rustls::ClientConfig`], and a watch that records whether any byte of the HTTP request was
//! handed to the socket.
//!
//! The watch is what makes [`Observation::NotSent`](super::Observation::NotSent) exact: DNS,
//! connect and TLS-handshake failures happen before the watch's first write, so "not written" is
//! known, not guessed from an error's kind.

use rustls::pki_types::ServerName;
use rustls::{ClientConfig, ClientConnection, StreamOwned};
use std::fmt;
use std::io::{Read, Write};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use ureq::unversioned::transport::{
    Buffers, ConnectProxyConnector, ConnectionDetails, Connector, Either, LazyBuffers, NextTimeout,
    TcpConnector, Transport, TransportAdapter,
};

/// Whether the request of one call has (possibly) been written. Set *before* the first write,
/// so a write that fails half-way still counts as written.
#[derive(Clone, Debug, Default)]
pub(crate) struct WriteFlag(Arc<AtomicBool>);

impl WriteFlag {
    /// Whether any request byte may have reached the peer.
    pub(crate) fn written(&self) -> bool {
        self.0.load(Ordering::Acquire)
    }

    fn set(&self) {
        self.0.store(true, Ordering::Release);
    }
}

/// The full chain for one call. `tls` is `None` for plain-HTTP clients; an `https` URL then
/// fails before connecting.
pub(crate) fn chain(tls: Option<Arc<ClientConfig>>, flag: WriteFlag) -> impl Connector<()> {
    ().chain(ConnectProxyConnector::default())
        .chain(TcpConnector::default())
        .chain(TlsConnector { config: tls })
        .chain(WatchConnector { flag })
}

/// Wraps the TCP transport in TLS for `https` URLs, completing the handshake before returning
/// (so a certificate problem is a connect-stage error, never "maybe written").
struct TlsConnector {
    config: Option<Arc<ClientConfig>>,
}

impl fmt::Debug for TlsConnector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TlsConnector").finish_non_exhaustive()
    }
}

impl<In: Transport> Connector<In> for TlsConnector {
    type Out = Either<In, TlsTransport>;

    fn connect(
        &self,
        details: &ConnectionDetails,
        chained: Option<In>,
    ) -> Result<Option<Self::Out>, ureq::Error> {
        let Some(transport) = chained else {
            return Err(ureq::Error::ConnectionFailed);
        };
        if !details.needs_tls() || transport.is_tls() {
            return Ok(Some(Either::A(transport)));
        }
        let Some(config) = self.config.clone() else {
            return Err(ureq::Error::Tls("https URL on a client built without TLS"));
        };
        let host = details
            .uri
            .host()
            .ok_or(ureq::Error::Tls("URL without a host"))?;
        // An IPv6 literal comes bracketed in the URI; ServerName wants it bare.
        let host = host.trim_start_matches('[').trim_end_matches(']');
        let name = ServerName::try_from(host.to_string())
            .map_err(|_| ureq::Error::Tls("host is not a valid TLS server name"))?;
        let mut conn = ClientConnection::new(config, name)?;
        let mut sock = TransportAdapter::new(transport.boxed(), details.current_time.clone());
        sock.set_timeout(details.timeout);
        conn.complete_io(&mut sock).map_err(unwrap_rustls)?;
        let buffers = LazyBuffers::new(
            details.config.input_buffer_size(),
            details.config.output_buffer_size(),
        );
        let stream = StreamOwned { conn, sock };
        Ok(Some(Either::B(TlsTransport { buffers, stream })))
    }
}

/// rustls reports handshake failures as `io::Error(InvalidData, rustls::Error)`: unwrap it so
/// the error names the certificate problem.
fn unwrap_rustls(e: std::io::Error) -> ureq::Error {
    match e
        .get_ref()
        .and_then(|inner| inner.downcast_ref::<rustls::Error>())
    {
        Some(tls) => ureq::Error::Rustls(tls.clone()),
        None => ureq::Error::Io(e),
    }
}

/// An established TLS stream.
pub(crate) struct TlsTransport {
    buffers: LazyBuffers,
    stream: StreamOwned<ClientConnection, TransportAdapter>,
}

impl fmt::Debug for TlsTransport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TlsTransport").finish_non_exhaustive()
    }
}

impl Transport for TlsTransport {
    fn buffers(&mut self) -> &mut dyn Buffers {
        &mut self.buffers
    }

    fn transmit_output(&mut self, amount: usize, timeout: NextTimeout) -> Result<(), ureq::Error> {
        self.stream.get_mut().set_timeout(timeout);
        let output = &self.buffers.output()[..amount];
        self.stream.write_all(output).map_err(unwrap_rustls)?;
        Ok(())
    }

    fn await_input(&mut self, timeout: NextTimeout) -> Result<bool, ureq::Error> {
        self.stream.get_mut().set_timeout(timeout);
        let input = self.buffers.input_append_buf();
        let amount = self.stream.read(input).map_err(unwrap_rustls)?;
        self.buffers.input_appended(amount);
        Ok(amount > 0)
    }

    fn is_open(&mut self) -> bool {
        self.stream.get_mut().get_mut().is_open()
    }

    fn is_tls(&self) -> bool {
        true
    }
}

/// The top of the chain: marks the call's [`WriteFlag`] before the first request write.
#[derive(Debug)]
struct WatchConnector {
    flag: WriteFlag,
}

impl<In: Transport> Connector<In> for WatchConnector {
    type Out = Watched<In>;

    fn connect(
        &self,
        _: &ConnectionDetails,
        chained: Option<In>,
    ) -> Result<Option<Self::Out>, ureq::Error> {
        Ok(chained.map(|inner| Watched {
            inner,
            flag: self.flag.clone(),
        }))
    }
}

/// A transport whose writes set the call's [`WriteFlag`].
#[derive(Debug)]
pub(crate) struct Watched<T> {
    inner: T,
    flag: WriteFlag,
}

impl<T: Transport> Transport for Watched<T> {
    fn buffers(&mut self) -> &mut dyn Buffers {
        self.inner.buffers()
    }

    fn transmit_output(&mut self, amount: usize, timeout: NextTimeout) -> Result<(), ureq::Error> {
        if amount > 0 {
            self.flag.set();
        }
        self.inner.transmit_output(amount, timeout)
    }

    fn await_input(&mut self, timeout: NextTimeout) -> Result<bool, ureq::Error> {
        self.inner.await_input(timeout)
    }

    fn is_open(&mut self) -> bool {
        self.inner.is_open()
    }

    fn is_tls(&self) -> bool {
        self.inner.is_tls()
    }
}
