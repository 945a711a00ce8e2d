// Package llama is the pLLM's client for llama.cpp's llama-server, over its
// HTTP API (there is no WebSocket endpoint: generation streams as
// Server-Sent Events).
//
// # Routes
//
//	Health, WaitReady  GET  /health            200 {"status":"ok"}; 503 while the model loads
//	Props              GET  /props             n_ctx per slot, slots, model path, chat template
//	Chat               POST /v1/chat/completions  OpenAI chat, "stream": true
//	Complete           POST /completion        raw prompt, "stream": true
//	Tokenize           POST /tokenize          {"content"} -> {"tokens"}
//	LoRAAdapters       GET  /lora-adapters
//	SetLoRAAdapters    POST /lora-adapters     global scales; per request use Request.LoRA
//
// Chat also works against any OpenAI-compatible server (vLLM, Ollama, LM
// Studio): it needs only choices[0].delta.content and finish_reason and reads
// llama-server's "timings" or the standard "usage" when present. The other
// routes are llama-server's own.
//
// # Streams
//
// Each event is a "data: {json}" line followed by a blank line. Lines
// starting with ":" are comments (llama-server's keep-alive pings, ":" alone,
// since build b9478) and are skipped. The chat route ends with
// "data: [DONE]"; /completion ends with a chunk whose "stop" is true, which
// carries "timings" and "stop_type". A failure after output began arrives as
// a "data: {"error":{...}}" event, after which the server closes the stream.
// onToken callbacks receive each content piece in order as it arrives.
//
// # Errors
//
// Every error names the method and URL and is one line. Callers branch with
// errors.As on:
//
//   - *UnreachableError: nothing listens at BaseURL (refused, no such host);
//     the message says how to start llama-server or set BATOS_LLM_URL.
//   - *LoadingError: 503 "Loading model"; WaitReady waits these out.
//   - *ServerError: an HTTP status >= 400 with the server's error.message, or
//     a mid-stream error event (MidStream).
//   - *TruncatedError: the stream ended before its end marker.
//   - *ProtocolError: a response line that is not the expected JSON.
//   - *OutputLimitError: the text passed Client.MaxOutputBytes.
//
// With *TruncatedError, *OutputLimitError and a mid-stream *ServerError the
// returned Result holds the text received so far. A cancelled or expired
// context closes the response body at once, which makes llama-server stop
// generating, and the error wraps ctx.Err().
//
// Package llamatest serves the same wire format for tests.
package llama
