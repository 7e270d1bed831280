//! `eshm.ServiceServer`: the server of a service. A blocking loop (`recv`, `try_recv`,
//! iteration), or a handler run for every request (`serve`, or the `handler` argument, which
//! runs it on a daemon thread).

use crate::codec::Typed;
use crate::errors::IntoPy;
use crate::handle::{Closable, Handle};
use crate::service_request::ServiceRequest;
use crate::wait::wait_strategy;
use eshm::service::{RawRequest, RawServer, ServerOptions};
use pyo3::exceptions::PyStopIteration;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyType};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Requests of one type answered with responses of another (see the module documentation).
#[pyclass(module = "eshm", name = "ServiceServer", extends = Closable, frozen)]
pub(crate) struct ServiceServer {
    handle: Arc<Handle<RawServer>>,
    request: Arc<Typed>,
    response: Arc<Typed>,
    name: String,
}

pub(crate) fn deadline_in(timeout_s: Option<f64>) -> Option<Instant> {
    timeout_s.map(|t| Instant::now() + Duration::from_secs_f64(t.clamp(0.0, 1e9)))
}

impl ServiceServer {
    fn wrap(&self, py: Python<'_>, raw: RawRequest) -> PyResult<Py<ServiceRequest>> {
        let value = self.request.codec.decode(py, raw.bytes())?;
        Py::new(py, ServiceRequest::new(raw, value, self.response.clone(), &self.name))
    }

    /// The next request, waiting until `deadline` (`None`: forever); first looks without
    /// releasing the GIL (a request already there costs no GIL round trip).
    fn next(&self, py: Python<'_>, deadline: Option<Instant>) -> PyResult<Py<ServiceRequest>> {
        if let Some(raw) = self.handle.exclusive(py, |s| s.try_recv().py())? {
            return self.wrap(py, raw);
        }
        let raw =
            self.handle.blocking_exclusive(py, "ServiceServer.recv", deadline, |s, end| {
                s.recv_until(deadline, Some(end))
            })?;
        self.wrap(py, raw)
    }
}

#[pymethods]
impl ServiceServer {
    #[new]
    #[pyo3(signature = (
        name, request_type, response_type, handler = None, *,
        max_clients = 64, max_in_flight = 16, wait = "default", mode = 0o600,
    ))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        py: Python<'_>,
        name: &str,
        request_type: &Bound<'_, PyAny>,
        response_type: &Bound<'_, PyAny>,
        handler: Option<Py<PyAny>>,
        max_clients: usize,
        max_in_flight: usize,
        wait: &str,
        mode: u32,
    ) -> PyResult<Py<Self>> {
        let name = crate::topic_name(name);
        let request = Typed::from_type(request_type)?;
        let response = Typed::from_type(response_type)?;
        let options = ServerOptions::default()
            .max_clients(max_clients)
            .max_in_flight(max_in_flight)
            .wait_strategy(wait_strategy(wait)?)
            .mode(mode);
        let raw = py
            .detach(|| RawServer::create_with(name, &request.schema, &response.schema, &options))
            .py()?;
        let handle = Arc::new(Handle::new(raw, "ServiceServer"));
        let base = PyClassInitializer::from(Closable::new(handle.clone()));
        let server = ServiceServer {
            handle,
            request: Arc::new(request),
            response: Arc::new(response),
            name: name.to_owned(),
        };
        let obj = Py::new(py, base.add_subclass(server))?;
        if let Some(handler) = handler {
            // A daemon thread of Python's own (it ends with the interpreter, and Python knows
            // how to stop it), serving until the server is closed.
            let kwargs = PyDict::new(py);
            kwargs.set_item("target", obj.bind(py).getattr("serve")?)?;
            kwargs.set_item("args", (handler,))?;
            kwargs.set_item("daemon", true)?;
            kwargs.set_item("name", format!("eshm-service {name}"))?;
            let thread = py.import("threading")?.getattr("Thread")?.call((), Some(&kwargs))?;
            thread.call_method0("start")?;
        }
        Ok(obj)
    }

    /// The next request (a `ServiceRequest`: its `request`, and `respond(response)`), waiting
    /// at most `timeout` seconds (forever if `None`). Releases the GIL while it waits; Ctrl-C
    /// interrupts it.
    #[pyo3(signature = (timeout = None))]
    fn recv(&self, py: Python<'_>, timeout: Option<f64>) -> PyResult<Py<ServiceRequest>> {
        self.next(py, deadline_in(timeout))
    }

    /// The next request if one is waiting, else `None` (never blocks).
    fn try_recv(&self, py: Python<'_>) -> PyResult<Option<Py<ServiceRequest>>> {
        match self.handle.exclusive(py, |s| s.try_recv().py())? {
            Some(raw) => self.wrap(py, raw).map(Some),
            None => Ok(None),
        }
    }

    /// Answers every request with `handler(request)` until the server is closed (from
    /// another thread, or by the handler). A handler that raises drops its request (the
    /// client's call fails with `CallDroppedError`); the exception is printed and serving
    /// goes on.
    fn serve(&self, py: Python<'_>, handler: &Bound<'_, PyAny>) -> PyResult<()> {
        while self.handle.is_open() {
            let req = match self.next(py, None) {
                Ok(req) => req,
                Err(_) if !self.handle.is_open() => return Ok(()),
                Err(e) => return Err(e),
            };
            let request = req.get().value(py);
            match handler.call1((request,)) {
                Ok(response) => {
                    if let Err(e) = req.get().respond_value(&response) {
                        e.display(py);
                    }
                }
                // Dropping the request answers "dropped".
                Err(e) => {
                    e.display(py);
                    req.get().drop_unanswered();
                }
            }
        }
        Ok(())
    }

    fn __iter__(slf: Py<Self>) -> Py<Self> {
        slf
    }

    /// The next request, waiting as long as it takes; the iteration ends when the server is
    /// closed.
    fn __next__(&self, py: Python<'_>) -> PyResult<Py<ServiceRequest>> {
        if !self.handle.is_open() {
            return Err(PyStopIteration::new_err(()));
        }
        self.next(py, None)
            .map_err(|e| if self.handle.is_open() { e } else { PyStopIteration::new_err(()) })
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

    /// This server's generation (1, or one more than the dead server's it replaced).
    #[getter]
    fn generation(&self, py: Python<'_>) -> PyResult<u64> {
        self.handle.shared(py, |s| Ok(s.generation()))
    }

    /// Responses written so far.
    #[getter]
    fn served(&self, py: Python<'_>) -> PyResult<u64> {
        self.handle.shared(py, |s| Ok(s.served()))
    }

    /// Clients attached now.
    #[getter]
    fn clients(&self, py: Python<'_>) -> PyResult<usize> {
        self.handle.shared(py, |s| Ok(s.clients()))
    }

    #[classmethod]
    fn __class_getitem__(cls: &Bound<'_, PyType>, item: &Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
        crate::generic_alias(cls, item)
    }

    fn __repr__(&self) -> String {
        let state = if self.handle.is_open() { "" } else { ", closed" };
        format!(
            "eshm.ServiceServer({:?}, {} -> {}{state})",
            self.name,
            self.request.schema.type_name(),
            self.response.schema.type_name()
        )
    }
}
