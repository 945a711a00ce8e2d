package api

import (
	"context"
	"fmt"
)

// LobbySlot returns the object held in the Lobby's slot name (the Forge,
// the entropy metric): how clients reach the image's well-known objects.
// A missing slot, or one that holds no object, is an *Error of kind
// ErrNotFound.
func LobbySlot(ctx context.Context, img Image, name string) (uint64, error) {
	lobby, err := img.Object(ctx, LobbyOID)
	if err != nil {
		return 0, fmt.Errorf("read Lobby: %w", err)
	}
	for _, s := range lobby.Slots {
		if s.Name == name {
			if r := s.Target(); r != nil {
				return r.OID, nil
			}
		}
	}
	return 0, &Error{Kind: ErrNotFound, Object: &Ref{OID: LobbyOID, Name: "Lobby"}, Slot: name, Message: fmt.Sprintf("this image has no Lobby.%s", name)}
}
