// Package inspector is the inspector pane: it shows any value, an object
// with its slots (own, then inherited ones dimmed with their holder), each
// with its type and printed value, or a value that is not an object: a
// list's items and a map's entries as rows, anything else as its printed
// text.
//
// Model. The pane holds a stack of frames, one per value looked at; the
// top frame is shown. Enter on a reference (a slot, an item) pushes the
// object it refers to, and on a list or map value pushes that value;
// backspace (or h) pops back. e edits the selected own data slot of an
// object by typing a Go literal, starting from the slot's value written as
// one (a reference as ObjectAt(id)); enter reads it with api.ParseLiteral,
// which evaluates nothing, and sets it with api.Image.SetSlot. A refusal or
// an error is shown under the slot, the typed literal kept and the cursor
// on the column the *api.Error names. Every image call runs in a tea.Cmd; a
// commit reported by common.EventMsg reloads the frames whose objects it
// changed, and common.RefreshMsg (events were missed) reloads them all.
// common.InspectMsg and common.InspectValueMsg start a new stack, a new
// breadcrumb trail, with the value they name.
package inspector
