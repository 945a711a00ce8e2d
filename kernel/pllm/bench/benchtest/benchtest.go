// Package benchtest answers the mandate suite from a scripted
// llama-server, for tests of the code that runs the bench: the Forge's
// evaluate step, the autotelic loop, the bench itself.
package benchtest

import (
	"fmt"
	"regexp"

	"batos/kernel/pllm/bench"
	"batos/llama/llamatest"
)

// sendLine is how the prompt quotes the send that made the request (the
// context's origin part).
var sendLine = regexp.MustCompile(`(?m)^The send was made by this input:\n(.*)$`)

// Respond returns a llamatest responder that finds the mandate of suite
// whose send the prompt quotes and answers with answer(mandate, body) in
// a go fence, or with prose when answer returns "" or no mandate
// matches.
func Respond(suite *bench.Suite, answer func(m *bench.Mandate, body map[string]any) string) func(map[string]any) llamatest.Reply {
	bySend := map[string]*bench.Mandate{}
	for _, m := range suite.Mandates {
		bySend[m.Send] = m
	}
	return func(body map[string]any) llamatest.Reply {
		match := sendLine.FindStringSubmatch(fmt.Sprint(body["messages"]))
		if match == nil || bySend[match[1]] == nil {
			return llamatest.Reply{Text: "I do not know which method you mean."}
		}
		src := answer(bySend[match[1]], body)
		if src == "" {
			return llamatest.Reply{Text: "I would rather not."}
		}
		return llamatest.Reply{Text: "```go\n" + src + "\n```"}
	}
}
