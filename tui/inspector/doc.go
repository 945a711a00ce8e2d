// Package inspector is the inspector pane: it shows any value, an object
// with its slots (own, then inherited ones dimmed with their holder), each
// with its type and printed value, or a printed value that is not an
// object.
//
// Model. The pane holds a stack of frames, one per value looked at; the
// top frame is shown. Enter on a reference slot pushes the object it
// refers to, backspace (or h) pops back. e edits the selected own data slot
// by typing a Go literal; enter commits it with api.Image.SetLiteral, and an
// error is shown under the slot while the typed literal is kept. Every
// image call runs in a tea.Cmd; a commit reported by common.EventMsg
// reloads the frames whose objects it changed. common.InspectMsg and
// common.InspectValueMsg push a frame.
package inspector
