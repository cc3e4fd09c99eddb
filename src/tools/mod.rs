//! Built-in tools: model providers over HTTP (`openaiChat`,
//! `anthropicMessages`) and `bundle`, which asks a tool k times and reports
//! the consensus.

mod anthropic;
mod bundle;
mod chat;
mod consensus;
pub mod http_failure;
mod openai;
mod pricing;
mod provider;
pub mod sse;
pub mod stream_decode;

pub use anthropic::{AnthropicMessages, AnthropicMessagesTool};
pub use bundle::{Bundle, BundleConfig};
pub use chat::{ChatDefaults, ChatRequest};
pub use consensus::{Compare, Tally};
pub use openai::{OpenAiChat, OpenAiChatTool};
pub use pricing::{ModelPrice, Pricing};
pub use provider::{ApiKey, ProviderConfig, ProviderTool, WireFormat};
