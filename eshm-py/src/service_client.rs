//! `eshm.ServiceClient`: calls a service. `call(request, timeout=...)` returns the response or
//! raises; `call(request, timeout_us)` is SHM's, returning `(ok, response)`.

use crate::codec::Typed;
use crate::errors::{IntoPy, is_eshm_error};
use crate::handle::{Closable, Handle};
use crate::service_server::deadline_in;
use crate::wait::wait_strategy;
use eshm::service::{CallTicket, ClientOptions, RawClient};
use pyo3::prelude::*;
use pyo3::types::PyType;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// What a client changes: the client, and buffers for the request and the response.
struct State {
    raw: RawClient,
    request: Vec<u8>,
    response: Vec<u8>,
}

/// Calls a service: requests of one type, responses of another.
#[pyclass(module = "eshm", name = "ServiceClient", extends = Closable, frozen)]
pub(crate) struct ServiceClient {
    handle: Arc<Handle<State>>,
    request: Typed,
    response: Typed,
    name: String,
}

impl ServiceClient {
    /// Calls with `request`, waiting for the answer until `deadline` (`None`: forever).
    fn call_deadline(
        &self,
        py: Python<'_>,
        request: &Bound<'_, PyAny>,
        deadline: Option<Instant>,
    ) -> PyResult<Py<PyAny>> {
        // Fast path, with the GIL: send, and look for an answer a few µs.
        let sent = self.handle.exclusive(py, |s| {
            self.request.codec.encode(request, &mut s.request)?;
            let Some(ticket) = s.raw.try_send(&s.request).py()? else { return Ok(Err(())) };
            if s.raw.poll_quick(ticket, &mut s.response).py()? {
                return Ok(Ok(None));
            }
            Ok(Ok(Some(ticket)))
        })?;
        let ticket: CallTicket = match sent {
            // Answered already.
            Ok(None) => return self.take_response(py),
            Ok(Some(ticket)) => ticket,
            // No server attached: wait for one (GIL released).
            Err(()) => {
                self.handle.blocking_exclusive(py, "ServiceClient.call", deadline, |s, end| {
                    s.raw.send_until(&s.request, deadline, Some(end))
                })?
            }
        };
        self.handle.blocking_exclusive(py, "ServiceClient.call", deadline, |s, end| {
            s.raw.wait_until(ticket, deadline, Some(end), &mut s.response)
        })?;
        self.take_response(py)
    }

    /// Sends `request` if the client is attached to a live server now (attaching if one is
    /// there): `None` if there is none yet (`NoServerError` with `wait_for_server=False`).
    pub(crate) fn send_now(
        &self,
        py: Python<'_>,
        request: &Bound<'_, PyAny>,
    ) -> PyResult<Option<CallTicket>> {
        self.handle.exclusive(py, |s| {
            self.request.codec.encode(request, &mut s.request)?;
            s.raw.send_until(&s.request, None, Some(Instant::now())).py()
        })
    }

    /// The response to `ticket` if it came, waiting until `until` (with the GIL released) if
    /// given, else not at all: `None` if it has not come. Raises `ServerGoneError` and the
    /// other errors of `call` (a wait that ends raises `TimeoutError`).
    pub(crate) fn response_now(
        &self,
        py: Python<'_>,
        ticket: CallTicket,
        until: Option<Instant>,
    ) -> PyResult<Option<Py<PyAny>>> {
        let got = match until {
            None => self.handle.exclusive(py, |s| {
                s.raw.wait_until(ticket, None, Some(Instant::now()), &mut s.response).py()
            })?,
            Some(until) => {
                let what = "ServiceClient.call_async";
                Some(self.handle.blocking_exclusive(py, what, Some(until), |s, end| {
                    s.raw.wait_until(ticket, None, Some(end), &mut s.response)
                })?)
            }
        };
        got.map(|()| self.take_response(py)).transpose()
    }

    /// The response to `ticket` if it came, else what `register` makes of the client, under
    /// the same lock (so that an answer cannot come unseen in between).
    pub(crate) fn response_or_register(
        &self,
        py: Python<'_>,
        ticket: CallTicket,
        register: impl FnOnce(&mut RawClient) -> PyResult<crate::aio::Registered>,
    ) -> PyResult<crate::aio::ops::Step> {
        use crate::aio::ops::Step;
        let got = self.handle.exclusive(py, |s| {
            match s.raw.wait_until(ticket, None, Some(Instant::now()), &mut s.response).py()? {
                Some(()) => Ok(None),
                None => register(&mut s.raw).map(Some),
            }
        })?;
        match got {
            None => self.take_response(py).map(Step::Done),
            Some(r) => Ok(r.into()),
        }
    }

    /// Gives up on the call `ticket` (a `call_async` cancelled or timed out): its answer is
    /// discarded when it comes, and its entry goes to a later call.
    pub(crate) fn abandon(&self, py: Python<'_>, ticket: CallTicket) -> PyResult<()> {
        self.handle.exclusive(py, |s| {
            s.raw.abandon(ticket);
            Ok(())
        })
    }

    /// What `call_async` waits on.
    pub(crate) fn aio_key(&self) -> (crate::aio::Key, crate::aio::Owner) {
        crate::aio::Key::of(&self.handle, crate::aio::Op::Call)
    }

    fn take_response(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        self.handle.exclusive(py, |s| self.response.codec.decode(py, &s.response))
    }
}

#[pymethods]
impl ServiceClient {
    #[new]
    #[pyo3(signature = (
        name, request_type, response_type, *,
        wait = "default", stale_threshold_ms = 100, wait_for_server = true, allow_other_owners = false,
    ))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        py: Python<'_>,
        name: &str,
        request_type: &Bound<'_, PyAny>,
        response_type: &Bound<'_, PyAny>,
        wait: &str,
        stale_threshold_ms: u64,
        wait_for_server: bool,
        allow_other_owners: bool,
    ) -> PyResult<PyClassInitializer<Self>> {
        let name = crate::topic_name(name);
        let request = Typed::from_type(request_type)?;
        let response = Typed::from_type(response_type)?;
        let options = ClientOptions::default()
            .wait_strategy(wait_strategy(wait)?)
            .stale_threshold(Duration::from_millis(stale_threshold_ms.max(1)))
            .wait_for_server(wait_for_server)
            .allow_other_owners(allow_other_owners);
        let expected = Some((&request.schema, &response.schema));
        let raw = py.detach(|| RawClient::open(name, expected, options)).py()?;
        let state = State { raw, request: Vec::new(), response: Vec::new() };
        let handle = Arc::new(Handle::new(state, "ServiceClient"));
        let base = PyClassInitializer::from(Closable::new(handle.clone()));
        Ok(base.add_subclass(ServiceClient { handle, request, response, name: name.to_owned() }))
    }

    /// Calls the service and returns its response, waiting at most `timeout` seconds in all
    /// (forever if `None`; waiting for a server first if there is none). Raises
    /// `TimeoutError`, `ServerGoneError` (the server died before answering: noticed within
    /// the stale threshold), `NoServerError`, `CallDroppedError`, `TooManyCallsError`.
    ///
    /// SHM's form, `call(request, timeout_us)`, returns `(ok, response)` instead of raising
    /// (`(False, <default response>)` when the call failed).
    #[pyo3(signature = (request, timeout_us = None, *, timeout = None))]
    fn call<'py>(
        &self,
        py: Python<'py>,
        request: &Bound<'py, PyAny>,
        timeout_us: Option<u64>,
        timeout: Option<f64>,
    ) -> PyResult<Py<PyAny>> {
        let Some(us) = timeout_us else {
            return self.call_deadline(py, request, deadline_in(timeout));
        };
        let deadline = Some(Instant::now() + Duration::from_micros(us));
        let outcome = match self.call_deadline(py, request, deadline) {
            Ok(response) => (true, response),
            Err(e) if is_eshm_error(py, &e) => (false, self.response.default.clone_ref(py)),
            Err(e) => return Err(e),
        };
        Ok(outcome.into_pyobject(py)?.into_any().unbind())
    }

    /// `call`, awaited (see `eshm._aio`): returns the response, waiting at most `timeout`
    /// seconds in all (forever if `None`), then raises `eshm.TimeoutError`; raises what `call`
    /// raises otherwise. While there is no server, it looks for one every 10 ms. A task
    /// cancelled while it waits leaves the call in flight: its answer is discarded.
    #[pyo3(signature = (request, *, timeout = None))]
    fn call_async(
        slf: &Bound<'_, Self>,
        request: &Bound<'_, PyAny>,
        #[pyo3(from_py_with = crate::args::seconds)] timeout: Option<f64>,
    ) -> PyResult<Py<PyAny>> {
        crate::aio::coroutine(slf.py(), "call", (slf, request, timeout))
    }

    /// Whether a live server serves the name (attaching to it if need be).
    fn is_server_connected(&self, py: Python<'_>) -> PyResult<bool> {
        self.handle.exclusive(py, |s| Ok(py.detach(|| s.raw.is_server_connected())))
    }

    /// SHM's name for `is_server_connected`.
    #[allow(non_snake_case)]
    fn isServerConnected(&self, py: Python<'_>) -> PyResult<bool> {
        self.is_server_connected(py)
    }

    /// Waits at most `timeout` seconds (forever if `None`) for a live server; whether there
    /// is one. Releases the GIL while it waits.
    #[pyo3(signature = (timeout = None))]
    fn wait_for_server(&self, py: Python<'_>, timeout: Option<f64>) -> PyResult<bool> {
        let deadline = deadline_in(timeout);
        let found = self.handle.blocking_exclusive(py, "wait_for_server", deadline, |s, end| {
            s.raw.wait_for_server_until(deadline, Some(end))
        });
        match found {
            Ok(found) => Ok(found),
            Err(e) if e.is_instance_of::<pyo3::exceptions::PyTimeoutError>(py) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// SHM's name for `wait_for_server`, with a timeout in µs.
    #[allow(non_snake_case)]
    fn waitForServer(&self, py: Python<'_>, timeout_us: u64) -> PyResult<bool> {
        self.wait_for_server(py, Some(timeout_us as f64 / 1e6))
    }

    /// The service's name.
    #[getter]
    fn name(&self) -> &str {
        &self.name
    }

    /// The request type's name.
    #[getter]
    fn request_type_name(&self) -> String {
        self.request.schema.type_name()
    }

    /// The response type's name.
    #[getter]
    fn response_type_name(&self) -> String {
        self.response.schema.type_name()
    }

    #[classmethod]
    fn __class_getitem__(cls: &Bound<'_, PyType>, item: &Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
        crate::generic_alias(cls, item)
    }

    fn __repr__(&self) -> String {
        let state = if self.handle.is_open() { "" } else { ", closed" };
        format!(
            "eshm.ServiceClient({:?}, {} -> {}{state})",
            self.name,
            self.request.schema.type_name(),
            self.response.schema.type_name()
        )
    }
}
