package redisstore

import (
	"context"
	"fmt"
	"time"

	"github.com/walletauth/walletauth/store"
)

// metadataMembers are the members of [store.Metadata], as SetMetadata names them: the fields of
// the hash {P}:metadata:<user id>.
var metadataMembers = [3]string{"public", "private", "unsafe"}

// GetMetadata implements [store.MetadataStore.GetMetadata].
func (s *Store) GetMetadata(ctx context.Context, userID string) (store.Metadata, error) {
	if err := s.begin(ctx); err != nil {
		return store.Metadata{}, err
	}
	v, err := s.client.HMGet(ctx, s.key("metadata", userID), metadataMembers[:]...).Result()
	if err != nil {
		return store.Metadata{}, s.fail(ctx, "GetMetadata", err)
	}
	if len(v) != len(metadataMembers) {
		return store.Metadata{}, fmt.Errorf("redisstore: GetMetadata: unexpected reply %v", v)
	}
	var docs [3][]byte
	for i, x := range v {
		if d, ok := x.(string); ok && d != "" {
			docs[i] = []byte(d)
		}
	}
	return store.Metadata{Public: docs[0], Private: docs[1], Unsafe: docs[2]}, nil
}

// SetMetadata implements [store.MetadataStore.SetMetadata] with one HSET (or HDEL), so that
// members set at once never lose each other's writes. An empty doc deletes the member, as nil
// does (a nil member means {}). The store keeps doc as given and does not parse it. It also
// returns an error wrapping [store.ErrInvalid] when userID is empty, doc is longer than
// [MaxMetadataSize], or now is out of range (the store does not otherwise use now).
func (s *Store) SetMetadata(ctx context.Context, userID, member string, doc []byte, now time.Time) error {
	if err := store.CheckMetadata(userID, member, doc, MaxMetadataSize, now); err != nil {
		return err
	}
	if err := s.begin(ctx); err != nil {
		return err
	}
	key := s.key("metadata", userID)
	var err error
	if len(doc) == 0 {
		err = s.client.HDel(ctx, key, member).Err()
	} else {
		err = s.client.HSet(ctx, key, member, doc).Err()
	}
	if err != nil {
		return s.fail(ctx, "SetMetadata", err)
	}
	return nil
}
