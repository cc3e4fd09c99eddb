//! An HTTP client that answers from a script on virtual time, and
//! remembers every request (to check bodies and headers).

use std::cell::RefCell;
use std::collections::VecDeque;
use std::rc::Rc;

use futures::future::{self, Either, LocalBoxFuture};

use super::VirtualClock;
use crate::platform::{AbortSignal, HttpClient, HttpError, HttpRequest, HttpResponse, Sleeper};

/// One scripted reply.
#[derive(Clone, Debug)]
pub enum Reply {
    /// Answer with this status, headers and body.
    Respond(u16, Vec<(String, String)>, String),
    /// Fail without a response (connection refused, reset).
    Network(String),
    /// Wait this many virtual ms first (aborted early by the signal).
    After(f64, Box<Reply>),
}

impl Reply {
    /// A JSON answer with `status`.
    pub fn json(status: u16, body: serde_json::Value) -> Self {
        Self::Respond(status, Vec::new(), body.to_string())
    }

    /// A JSON answer with `status` and headers.
    pub fn json_with(status: u16, headers: &[(&str, &str)], body: serde_json::Value) -> Self {
        let headers = headers
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        Self::Respond(status, headers, body.to_string())
    }

    /// This reply after `ms` of virtual time.
    pub fn after(self, ms: f64) -> Self {
        Self::After(ms, Box::new(self))
    }
}

/// A [`HttpClient`] following a script, then repeating its last reply.
pub struct ScriptedHttp {
    clock: Rc<VirtualClock>,
    replies: RefCell<VecDeque<Reply>>,
    otherwise: RefCell<Option<Reply>>,
    requests: RefCell<Vec<HttpRequest>>,
}

impl ScriptedHttp {
    /// A client with an empty script (it answers network errors).
    pub fn new(clock: &Rc<VirtualClock>) -> Rc<Self> {
        Rc::new(Self {
            clock: Rc::clone(clock),
            replies: RefCell::new(VecDeque::new()),
            otherwise: RefCell::new(None),
            requests: RefCell::new(Vec::new()),
        })
    }

    /// Adds a reply to the script.
    pub fn then(&self, reply: Reply) -> &Self {
        self.replies.borrow_mut().push_back(reply);
        self
    }

    /// The reply once the script is used up.
    pub fn otherwise(&self, reply: Reply) -> &Self {
        *self.otherwise.borrow_mut() = Some(reply);
        self
    }

    /// Requests sent so far.
    pub fn requests(&self) -> Vec<HttpRequest> {
        self.requests.borrow().clone()
    }
}

impl HttpClient for ScriptedHttp {
    fn send(
        &self,
        request: HttpRequest,
        signal: AbortSignal,
    ) -> LocalBoxFuture<'static, Result<HttpResponse, HttpError>> {
        self.requests.borrow_mut().push(request);
        let reply = self
            .replies
            .borrow_mut()
            .pop_front()
            .or_else(|| self.otherwise.borrow().clone())
            .unwrap_or_else(|| Reply::Network("no scripted reply".into()));
        let clock = Rc::clone(&self.clock);
        Box::pin(async move {
            let mut reply = reply;
            while let Reply::After(ms, inner) = reply {
                let sleep = clock.sleep(ms);
                let aborted = signal.aborted();
                if let Either::Right(_) = future::select(sleep, std::pin::pin!(aborted)).await {
                    return Err(HttpError::Aborted);
                }
                reply = *inner;
            }
            if signal.is_aborted() {
                return Err(HttpError::Aborted);
            }
            match reply {
                Reply::Respond(status, headers, body) => Ok(HttpResponse { status, headers, body }),
                Reply::Network(message) => Err(HttpError::Network(message)),
                Reply::After(..) => Err(HttpError::Network("unreachable reply".into())),
            }
        })
    }
}
