//! `eshm.ServiceRequest`: a request a `ServiceServer` took: its value, and `respond`. Garbage
//! collected unanswered, it answers "dropped" (the client's call fails at once).

use crate::codec::Typed;
use crate::errors::{IntoPy, closed};
use eshm::service::RawRequest;
use pyo3::prelude::*;
use std::sync::{Arc, Mutex};

/// A request taken by a `ServiceServer`.
#[pyclass(module = "eshm", name = "ServiceRequest", frozen)]
pub(crate) struct ServiceRequest {
    /// `None` once answered (or dropped).
    raw: Mutex<Option<RawRequest>>,
    value: Py<PyAny>,
    response: Arc<Typed>,
    client: usize,
    number: u64,
    service: String,
}

impl ServiceRequest {
    pub(crate) fn new(
        raw: RawRequest,
        value: Py<PyAny>,
        response: Arc<Typed>,
        service: &str,
    ) -> Self {
        let id = raw.id();
        ServiceRequest {
            raw: Mutex::new(Some(raw)),
            value,
            response,
            client: id.client(),
            number: id.number(),
            service: service.to_owned(),
        }
    }

    pub(crate) fn value(&self, py: Python<'_>) -> Py<PyAny> {
        self.value.clone_ref(py)
    }

    /// Answers with `response` (a value of the response type).
    pub(crate) fn respond_value(&self, response: &Bound<'_, PyAny>) -> PyResult<()> {
        let mut bytes = Vec::new();
        self.response.codec.encode(response, &mut bytes)?;
        let mut slot = self.raw.lock().unwrap_or_else(|p| p.into_inner());
        let Some(raw) = slot.as_mut() else {
            return Err(closed("this request was already answered"));
        };
        raw.respond(&bytes).py()?;
        *slot = None;
        Ok(())
    }

    /// Drops it unanswered (the client's call fails with `CallDroppedError`).
    pub(crate) fn drop_unanswered(&self) {
        drop(self.raw.lock().unwrap_or_else(|p| p.into_inner()).take());
    }
}

#[pymethods]
impl ServiceRequest {
    /// The request's value.
    #[getter]
    fn request(&self, py: Python<'_>) -> Py<PyAny> {
        self.value(py)
    }

    /// Answers the call with `response`; an answer to a client that has gone goes nowhere,
    /// which is not an error. Raises `ClosedError` if it was already answered.
    fn respond(&self, response: &Bound<'_, PyAny>) -> PyResult<()> {
        self.respond_value(response)
    }

    /// Drops it without an answer: the client's call fails with `CallDroppedError` at once.
    fn drop(&self) {
        self.drop_unanswered();
    }

    /// Whether it was answered (or dropped).
    #[getter]
    fn answered(&self) -> bool {
        self.raw.lock().unwrap_or_else(|p| p.into_inner()).is_none()
    }

    /// The client's slot in the server (which client asked).
    #[getter]
    fn client(&self) -> usize {
        self.client
    }

    /// The call's number among its client's calls.
    #[getter]
    fn number(&self) -> u64 {
        self.number
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        let value = self.value.bind(py).repr()?;
        Ok(format!(
            "eshm.ServiceRequest({:?}, client={}, number={}, request={value})",
            self.service, self.client, self.number
        ))
    }
}
