//! Built-in tools: model providers over HTTP (`openaiChat`,
//! `anthropicMessages`) and `bundle`, which asks a tool k times and reports
//! the consensus.

mod anthropic;
mod bundle;
mod chat;
mod consensus;
pub mod http_failure;
mod message;
mod openai;
mod pricing;
mod provider;
pub mod sse;
pub mod stream_decode;
mod validated;

pub use anthropic::{AnthropicMessages, AnthropicMessagesTool};
pub use bundle::{Bundle, BundleConfig};
pub use chat::{ChatDefaults, ChatRequest};
pub use consensus::{Compare, Tally};
pub use message::{AssistantMessage, ToolCall};
pub use openai::{wants_completion_tokens, OpenAiChat, OpenAiChatTool};
pub use pricing::{ModelPrice, Pricing};
pub use provider::{ApiKey, Auth, ProviderConfig, ProviderTool, WireFormat};
pub use validated::Validated;
