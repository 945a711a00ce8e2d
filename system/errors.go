package system

import (
	"context"
	"errors"
	"strconv"

	"batos/api"
	"batos/image"
	"batos/interp"
	"batos/kernel"
	"batos/kernel/pllm"
)

// apiError turns an error of the kernel, the interpreter or the store into
// the *api.Error every client receives. The kind comes from the typed
// error errors.As finds first in this order — a stop (deadline, interrupt,
// limit) explains everything under it; a policy refusal or a conflict
// explains a failed write before the panic that carried it — and the
// message is the whole chain, with the context the layers added.
func apiError(err error) error {
	if err == nil {
		return nil
	}
	var ae *api.Error
	if errors.As(err, &ae) {
		return ae
	}
	e := &api.Error{Kind: api.ErrInternal, Message: err.Error()}
	var chain *kernel.SendError
	if errors.As(err, &chain) && len(chain.Chain) > 1 {
		for _, f := range chain.Chain {
			frame := api.Frame{Object: api.Ref{OID: uint64(f.Object), Name: f.Receiver}, Selector: f.Selector, Line: f.Line}
			if f.Holder != 0 {
				frame.Holder = &api.Ref{OID: uint64(f.Holder), Name: objectName(f.Holder)}
				if f.Holder == f.Object {
					frame.Holder.Name = f.Receiver
				}
			}
			e.Frames = append(e.Frames, frame)
		}
	}
	var (
		stop      *interp.StopError
		policy    *kernel.PolicyError
		undo      *image.UndoConflictError
		conflict  *image.ConflictError
		syntax    *interp.SyntaxError
		forbidden *interp.ForbiddenImportError
		argument  *interp.ArgumentError
		dnu       *kernel.NotUnderstoodError
		slot      *kernel.SlotError
		panicked  *interp.PanicError
		corrupt   *image.CorruptError
		damaged   *image.DamagedError
		format    *image.FormatError
		storage   *image.StorageError
		locked    *image.LockedError
	)
	switch {
	case errors.As(err, &stop):
		switch stop.Reason {
		case interp.StopDeadline:
			e.Kind = api.ErrDeadline
		case interp.StopCanceled:
			e.Kind = api.ErrCanceled
		default:
			e.Kind = api.ErrLimit
		}
	case errors.As(err, &policy):
		e.Kind, e.Slot, e.Selector = api.ErrPolicy, policy.Slot, policy.Selector
		e.Object = &api.Ref{OID: uint64(policy.OID), Name: policy.Object}
	case errors.As(err, &undo):
		e.Kind, e.Tx, e.ChangedBy = api.ErrUndoConflict, uint64(undo.Tx), uint64(undo.ChangedBy)
		e.Object = &api.Ref{OID: uint64(undo.OID), Name: objectName(undo.OID)}
	case errors.As(err, &conflict):
		e.Kind, e.Tx = api.ErrConflict, uint64(conflict.Tx)
		e.Object = &api.Ref{OID: uint64(conflict.OID), Name: objectName(conflict.OID)}
	case errors.As(err, &syntax):
		e.Kind, e.Line, e.Col, e.Selector = api.ErrSyntax, syntax.Line, syntax.Col, syntax.Selector
		if syntax.Compile {
			e.Kind = api.ErrCompile
		}
	case errors.As(err, &forbidden):
		e.Kind, e.Line = api.ErrForbidden, forbidden.Line
	case errors.As(err, &argument):
		e.Kind, e.Selector = api.ErrArgument, argument.Selector
	case errors.As(err, &dnu):
		e.Kind, e.Selector = api.ErrNotUnderstood, dnu.Selector
		var confirm *pllm.ConfirmError
		if errors.As(err, &confirm) {
			e.Confirm = true
			e.Object = &api.Ref{OID: uint64(confirm.Receiver), Name: dnu.Receiver}
		}
	case errors.As(err, &slot):
		e.Kind, e.Slot = api.ErrSlot, slot.Slot
	case errors.As(err, &panicked):
		e.Kind, e.Selector = api.ErrPanic, panicked.Selector
	case errors.As(err, &corrupt), errors.As(err, &damaged), errors.As(err, &format), errors.As(err, &storage):
		e.Kind = api.ErrCorrupt
	case errors.As(err, &locked):
		e.Kind = api.ErrLocked
	case errors.Is(err, image.ErrNotFound):
		e.Kind = api.ErrNotFound
	case errors.Is(err, image.ErrReadOnly):
		e.Kind = api.ErrReadOnly
	case errors.Is(err, image.ErrClosed), errors.Is(err, kernel.ErrSessionClosed):
		e.Kind = api.ErrClosed
	case errors.Is(err, context.Canceled):
		e.Kind = api.ErrCanceled
	case errors.Is(err, context.DeadlineExceeded):
		e.Kind = api.ErrDeadline
	}
	return e
}

func objectName(oid image.OID) string {
	if oid == image.RootOID {
		return "Lobby"
	}
	return "object " + strconv.FormatUint(uint64(oid), 10)
}
