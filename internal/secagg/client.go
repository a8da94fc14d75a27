package secagg

import (
	"bytes"
	"crypto"
	"crypto/ecdh"
	"crypto/rand"
	"crypto/sha256"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"slices"

	"github.com/confed/confed/internal/fixedpoint"
	confedv1 "github.com/confed/confed/proto/confed/v1"
)

// peerKeys is what a client learned about one neighbour.
type peerKeys struct {
	cipherPub, maskPub  *ecdh.PublicKey
	keyShare, seedShare []byte // the neighbour's shares held by this client
}

// Client is one participant's side of a session. Its methods must be called
// in stage order, each at most once: Advertise, ShareKeys, MaskedInput,
// Consistency, Unmask. Any refused server message fails the client for
// good (it reveals nothing more); it is then a dropout to the server.
type Client struct {
	cfg    Config
	id     uint32
	signer crypto.Signer
	rand   io.Reader
	nbrs   []uint32 // neighbours, sorted
	next   Stage
	failed error

	cipherKey, maskKey *ecdh.PrivateKey
	seed               []byte
	peers              map[uint32]*peerKeys // neighbours whose advertisement verified (U1 ∩ N)
	holders            []uint32             // neighbours whose shares this client holds (U2 ∩ N), sorted
	survivors          []uint32             // U3 as signed
	revealed           map[uint32]confedv1.SecAggShareKind
}

// NewClient returns participant id's side of the session described by cfg;
// signer is its identity key (cfg.Peers[id].Key's private half).
func NewClient(cfg Config, id int, signer crypto.Signer) (*Client, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if id < 0 || id >= len(cfg.Peers) {
		return nil, fmt.Errorf("secagg: participant id %d outside the roster of %d", id, len(cfg.Peers))
	}
	if !equalKeys(signer.Public(), cfg.Peers[id].Key) {
		return nil, fmt.Errorf("secagg: signer is not the key of %s in the roster", cfg.Peers[id].Name)
	}
	return &Client{cfg: cfg, id: uint32(id), signer: signer, rand: rand.Reader,
		nbrs: neighbours(cfg.Session, len(cfg.Peers), cfg.Degree)[id], next: StageAdvertise,
		peers: map[uint32]*peerKeys{}, revealed: map[uint32]confedv1.SecAggShareKind{}}, nil
}

func equalKeys(a, b crypto.PublicKey) bool {
	k, ok := a.(interface{ Equal(crypto.PublicKey) bool })
	return ok && k.Equal(b)
}

// Revealed returns, for each peer whose share this client revealed, which
// kind (at most one per peer, by construction).
func (c *Client) Revealed() map[uint32]confedv1.SecAggShareKind { return maps(c.revealed) }

func maps[K comparable, V any](m map[K]V) map[K]V {
	out := make(map[K]V, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// step checks that the client may run stage s and marks it run.
func (c *Client) step(s Stage) error {
	if c.failed != nil {
		return refuse(ReasonFailed, "client already failed: %v", c.failed)
	}
	if c.next != s {
		return refuse(ReasonOutOfStage, "client is at stage %s, not %s", c.next, s)
	}
	c.next = s + 1
	return nil
}

// fail fails the client for good and forgets its secrets.
func (c *Client) fail(err error) error {
	c.failed = err
	c.forget()
	return err
}

// serverMessage decodes and checks a server message for stage s.
func (c *Client) serverMessage(b []byte, s Stage) (*confedv1.SecAggServerMessage, error) {
	if err := c.step(s); err != nil {
		return nil, err
	}
	m, err := DecodeServerMessage(b)
	switch {
	case err != nil:
		return nil, c.fail(err)
	case !bytes.Equal(m.GetSession(), c.cfg.Session[:]):
		return nil, c.fail(refuse(ReasonWrongSession, "server message of another session"))
	case m.GetStage() != s:
		return nil, c.fail(refuse(ReasonOutOfStage, "server message for stage %s, client expects %s", m.GetStage(), s))
	case m.GetRecipient() != c.id:
		return nil, c.fail(refuse(ReasonInconsistent, "server message addressed to %d, not %d", m.GetRecipient(), c.id))
	}
	return m, nil
}

func (c *Client) body(s Stage) *confedv1.SecAggBody {
	return &confedv1.SecAggBody{Session: c.cfg.Session[:], Stage: s, Sender: c.id}
}

// Advertise starts the session: it draws the two X25519 key pairs and the
// self-mask seed and returns the signed advertisement.
func (c *Client) Advertise() ([]byte, error) {
	if err := c.step(StageAdvertise); err != nil {
		return nil, err
	}
	var err error
	if c.cipherKey, err = ecdh.X25519().GenerateKey(c.rand); err != nil {
		return nil, c.fail(err)
	}
	if c.maskKey, err = ecdh.X25519().GenerateKey(c.rand); err != nil {
		return nil, c.fail(err)
	}
	c.seed = make([]byte, secretLen)
	if _, err := io.ReadFull(c.rand, c.seed); err != nil {
		return nil, c.fail(err)
	}
	b := c.body(StageAdvertise)
	b.Payload = &confedv1.SecAggBody_Advertise{Advertise: &confedv1.SecAggAdvertise{
		CipherPublicKey: c.cipherKey.PublicKey().Bytes(), MaskPublicKey: c.maskKey.PublicKey().Bytes()}}
	return encodeSigned(c.signer, c.rand, b)
}

// ShareKeys takes the neighbours' advertisements, verifies each, and returns
// the signed message with this client's shares encrypted to each of them.
// It fails if fewer than t−1 neighbours advertised.
func (c *Client) ShareKeys(msg []byte) ([]byte, error) {
	m, err := c.serverMessage(msg, StageShareKeys)
	if err != nil {
		return nil, err
	}
	for _, raw := range m.GetAdvertisements() {
		id, a, err := c.verifyPeer(raw, StageAdvertise)
		if err != nil {
			return nil, c.fail(err)
		}
		if id == c.id {
			return nil, c.fail(refuse(ReasonInconsistent, "own advertisement among the neighbours'"))
		}
		if _, dup := c.peers[id]; dup {
			return nil, c.fail(refuse(ReasonReplay, "two advertisements of %d", id))
		}
		pk := &peerKeys{}
		if pk.cipherPub, err = ecdh.X25519().NewPublicKey(a.GetAdvertise().GetCipherPublicKey()); err != nil {
			return nil, c.fail(refuse(ReasonMalformed, "advertisement of %d: %v", id, err))
		}
		if pk.maskPub, err = ecdh.X25519().NewPublicKey(a.GetAdvertise().GetMaskPublicKey()); err != nil {
			return nil, c.fail(refuse(ReasonMalformed, "advertisement of %d: %v", id, err))
		}
		c.peers[id] = pk
	}
	if len(c.peers)+1 < c.cfg.Threshold {
		return nil, c.fail(refuse(ReasonTooFew, "%d neighbours advertised keys; with this participant, fewer than the threshold %d", len(c.peers), c.cfg.Threshold))
	}
	out, err := c.shares()
	if err != nil {
		return nil, c.fail(err)
	}
	return out, nil
}

// verifyPeer checks a neighbour's signed message of stage s.
func (c *Client) verifyPeer(raw *confedv1.SecAggSigned, s Stage) (uint32, *confedv1.SecAggBody, error) {
	enc, err := marshal.Marshal(raw)
	if err != nil {
		return 0, nil, refuse(ReasonMalformed, "%v", err)
	}
	sm, err := decodeSigned(enc)
	if err != nil {
		return 0, nil, err
	}
	id := sm.body.GetSender()
	switch {
	case !bytes.Equal(sm.body.GetSession(), c.cfg.Session[:]):
		return 0, nil, refuse(ReasonWrongSession, "message of %d from another session", id)
	case sm.body.GetStage() != s:
		return 0, nil, refuse(ReasonOutOfStage, "message of %d for stage %s, want %s", id, sm.body.GetStage(), s)
	case id != c.id && !contains(c.nbrs, id):
		return 0, nil, refuse(ReasonNotExpected, "message of %d, not a neighbour", id)
	case !verify(c.cfg.Peers[id].Key, sm.raw, sm.sig):
		return 0, nil, refuse(ReasonBadSignature, "message of %d", id)
	}
	return id, sm.body, nil
}

// shares splits the mask key and the seed among this client and its
// advertised neighbours and encrypts each neighbour's pair.
func (c *Client) shares() ([]byte, error) {
	ids := slices.Sorted(func(yield func(uint32) bool) {
		for id := range c.peers {
			if !yield(id) {
				return
			}
		}
	})
	xs := append(slices.Clone(ids), c.id)
	keyShares, err := split(c.maskKey.Bytes(), xs, c.cfg.Threshold, c.rand)
	if err != nil {
		return nil, err
	}
	seedShares, err := split(c.seed, xs, c.cfg.Threshold, c.rand)
	if err != nil {
		return nil, err
	}
	self := &peerKeys{maskPub: c.maskKey.PublicKey(), keyShare: keyShares[len(ids)], seedShare: seedShares[len(ids)]}
	c.peers[c.id] = self
	sk := &confedv1.SecAggShareKeys{SelfMaskCommitment: commitment(c.seed, c.cfg.Session, c.id)}
	for k, id := range ids {
		e, err := c.encryptShare(id, keyShares[k], seedShares[k])
		if err != nil {
			return nil, err
		}
		sk.Shares = append(sk.Shares, e)
	}
	b := c.body(StageShareKeys)
	b.Payload = &confedv1.SecAggBody_ShareKeys{ShareKeys: sk}
	return encodeSigned(c.signer, c.rand, b)
}

func (c *Client) encryptShare(to uint32, keyShare, seedShare []byte) (*confedv1.SecAggEncryptedShare, error) {
	secret, err := c.cipherKey.ECDH(c.peers[to].cipherPub)
	if err != nil {
		return nil, wrapAgree(err)
	}
	aead, err := shareAEAD(secret, c.cfg.Session, c.id, to)
	if err != nil {
		return nil, err
	}
	pt, err := marshal.Marshal(&confedv1.SecAggSharePlaintext{From: c.id, To: to, MaskKeyShare: keyShare, SelfMaskShare: seedShare})
	if err != nil {
		return nil, err
	}
	nonce := make([]byte, nonceLen)
	if _, err := io.ReadFull(c.rand, nonce); err != nil {
		return nil, err
	}
	return &confedv1.SecAggEncryptedShare{From: c.id, To: to, Nonce: nonce,
		Ciphertext: aead.Seal(nil, nonce, pt, shareAD(c.cfg.Session, c.id, to))}, nil
}

// MaskedInput takes the shares addressed to this client, decrypts each, and
// returns the signed masked input: the update quantised with weight (rng
// drives the stochastic rounding; nil draws a seed from crypto/rand), the
// weight appended, plus the self mask and the pairwise masks of the
// neighbours whose shares arrived. It fails if fewer than t−1 did. The
// vector travels inside the message; MaskedInputStream sends it apart.
func (c *Client) MaskedInput(msg []byte, update []float32, weight uint64, rng mrand.Source) ([]byte, error) {
	v, err := c.maskedVector(msg, update, weight, rng)
	if err != nil {
		return nil, err
	}
	b := c.body(StageMaskedInput)
	b.Payload = &confedv1.SecAggBody_MaskedInput{MaskedInput: &confedv1.SecAggMaskedInput{Masked: v}}
	return encodeSigned(c.signer, c.rand, b)
}

// MaskedInputStream is MaskedInput for large updates: it returns the signed
// header, which carries the SHA-256 of the vector, and the encoded masked
// vector (4·(Length+1) bytes), for the caller to send in chunks after the
// header (see Server.ReceiveStream).
func (c *Client) MaskedInputStream(msg []byte, update []float32, weight uint64, rng mrand.Source) (header, vector []byte, err error) {
	v, err := c.maskedVector(msg, update, weight, rng)
	if err != nil {
		return nil, nil, err
	}
	sum := sha256.Sum256(v)
	b := c.body(StageMaskedInput)
	b.Payload = &confedv1.SecAggBody_MaskedInput{MaskedInput: &confedv1.SecAggMaskedInput{Sha256: sum[:]}}
	h, err := encodeSigned(c.signer, c.rand, b)
	return h, v, err
}

// maskedVector runs the masked-input stage and returns the encoded vector.
func (c *Client) maskedVector(msg []byte, update []float32, weight uint64, rng mrand.Source) ([]byte, error) {
	m, err := c.serverMessage(msg, StageMaskedInput)
	if err != nil {
		return nil, err
	}
	if err := c.receiveShares(m.GetShares()); err != nil {
		return nil, c.fail(err)
	}
	if len(update) != c.cfg.Length {
		return nil, c.fail(fmt.Errorf("secagg: update of %d elements, the session's length is %d", len(update), c.cfg.Length))
	}
	if rng == nil {
		var seed [32]byte
		if _, err := io.ReadFull(c.rand, seed[:]); err != nil {
			return nil, c.fail(err)
		}
		rng = mrand.NewChaCha8(seed)
	}
	v := make([]uint32, c.cfg.Length+1)
	if err := fixedpoint.Quantise32(v[:c.cfg.Length], update, weight, c.cfg.Params, rng); err != nil {
		return nil, c.fail(fmt.Errorf("secagg: %w", err))
	}
	v[c.cfg.Length] = uint32(weight) // ≤ MaxWeight (Quantise32 checked)
	if err := c.mask(v); err != nil {
		return nil, c.fail(err)
	}
	enc := fixedpoint.Encode32(v)
	clear(v)
	return enc, nil
}

// receiveShares decrypts the neighbours' shares addressed to this client.
func (c *Client) receiveShares(es []*confedv1.SecAggEncryptedShare) error {
	for _, e := range es {
		from := e.GetFrom()
		pk := c.peers[from]
		switch {
		case e.GetTo() != c.id:
			return refuse(ReasonBadShare, "share addressed to %d", e.GetTo())
		case from == c.id || pk == nil:
			return refuse(ReasonBadShare, "share from %d, not an advertised neighbour", from)
		case pk.seedShare != nil:
			return refuse(ReasonReplay, "two shares from %d", from)
		}
		secret, err := c.cipherKey.ECDH(pk.cipherPub)
		if err != nil {
			return wrapAgree(err)
		}
		aead, err := shareAEAD(secret, c.cfg.Session, from, c.id)
		if err != nil {
			return err
		}
		pt, err := aead.Open(nil, e.GetNonce(), e.GetCiphertext(), shareAD(c.cfg.Session, from, c.id))
		if err != nil {
			return refuse(ReasonBadShare, "share from %d does not decrypt", from)
		}
		sp, err := decodeSharePlaintext(pt)
		if err != nil {
			return err
		}
		if sp.GetFrom() != from || sp.GetTo() != c.id {
			return refuse(ReasonBadShare, "share from %d names %d to %d", from, sp.GetFrom(), sp.GetTo())
		}
		pk.keyShare, pk.seedShare = sp.GetMaskKeyShare(), sp.GetSelfMaskShare()
		c.holders = append(c.holders, from)
	}
	slices.Sort(c.holders)
	if len(c.holders)+1 < c.cfg.Threshold {
		return refuse(ReasonTooFew, "shares of %d neighbours arrived; with this participant, fewer than the threshold %d", len(c.holders), c.cfg.Threshold)
	}
	return nil
}

// mask adds the self mask and ±the pairwise mask of each neighbour whose
// shares arrived (+ towards higher ids, − towards lower ones).
func (c *Client) mask(v []uint32) error {
	m := newMasker(len(v))
	k, err := selfMaskKey(c.seed, c.cfg.Session, c.id)
	if err != nil {
		return err
	}
	if err := m.apply(v, k, true); err != nil {
		return err
	}
	for _, j := range c.holders {
		secret, err := c.maskKey.ECDH(c.peers[j].maskPub)
		if err != nil {
			return wrapAgree(err)
		}
		k, err := pairMaskKey(secret, c.cfg.Session, c.id, j)
		if err != nil {
			return err
		}
		if err := m.apply(v, k, c.id < j); err != nil {
			return err
		}
	}
	return nil
}

// Consistency takes the set of participants whose input arrived (U3) and
// returns this client's signature of it. It fails unless U3 holds this
// client and at least t−1 of its share holders.
func (c *Client) Consistency(msg []byte) ([]byte, error) {
	m, err := c.serverMessage(msg, StageConsistency)
	if err != nil {
		return nil, err
	}
	u3 := m.GetSurvivors()
	if !contains(u3, c.id) {
		return nil, c.fail(refuse(ReasonInconsistent, "survivors omit this participant, whose input was sent"))
	}
	if n := c.countIn(u3); n < c.cfg.Threshold {
		return nil, c.fail(refuse(ReasonTooFew, "%d of this participant's share holders survived, fewer than the threshold %d", n, c.cfg.Threshold))
	}
	c.survivors = slices.Clone(u3)
	b := c.body(StageConsistency)
	b.Payload = &confedv1.SecAggBody_Consistency{Consistency: &confedv1.SecAggConsistency{Survivors: c.survivors}}
	return encodeSigned(c.signer, c.rand, b)
}

// countIn counts this client and its share holders in sorted set.
func (c *Client) countIn(set []uint32) int {
	n := 0
	if contains(set, c.id) {
		n++
	}
	for _, j := range c.holders {
		if contains(set, j) {
			n++
		}
	}
	return n
}

// Unmask takes the neighbours' signed consistency messages; if at least t
// of this client's share holders (itself included) signed the same
// survivors, it returns, for each of them, the share of the self-mask seed
// (survivor) or of the mask key (dropped), never both for one peer.
func (c *Client) Unmask(msg []byte) ([]byte, error) {
	m, err := c.serverMessage(msg, StageUnmask)
	if err != nil {
		return nil, err
	}
	signers := map[uint32]bool{}
	for _, raw := range m.GetSignatures() {
		id, b, err := c.verifyPeer(raw, StageConsistency)
		if err != nil {
			return nil, c.fail(err)
		}
		if id != c.id && !contains(c.holders, id) {
			return nil, c.fail(refuse(ReasonNotExpected, "consistency signature of %d, which holds no share of this participant", id))
		}
		if !slices.Equal(b.GetConsistency().GetSurvivors(), c.survivors) {
			return nil, c.fail(refuse(ReasonInconsistent, "participant %d signed other survivors than this participant", id))
		}
		signers[id] = true
	}
	if len(signers) < c.cfg.Threshold {
		return nil, c.fail(refuse(ReasonTooFew, "%d share holders signed the survivors, fewer than the threshold %d", len(signers), c.cfg.Threshold))
	}
	un := &confedv1.SecAggUnmask{}
	for _, j := range append(slices.Clone(c.holders), c.id) {
		kind, share := confedv1.SecAggShareKind_SEC_AGG_SHARE_KIND_MASK_KEY, c.peers[j].keyShare
		if contains(c.survivors, j) {
			kind, share = confedv1.SecAggShareKind_SEC_AGG_SHARE_KIND_SELF_MASK, c.peers[j].seedShare
		}
		if prev, ok := c.revealed[j]; ok && prev != kind {
			return nil, c.fail(refuse(ReasonInconsistent, "refusing to reveal both shares of %d", j))
		}
		c.revealed[j] = kind
		un.Shares = append(un.Shares, &confedv1.SecAggRevealedShare{Owner: j, Kind: kind, Share: share})
	}
	b := c.body(StageUnmask)
	b.Payload = &confedv1.SecAggBody_Unmask{Unmask: un}
	out, err := encodeSigned(c.signer, c.rand, b)
	c.forget()
	return out, err
}

// forget drops the client's secrets once it has nothing left to do.
func (c *Client) forget() {
	c.cipherKey, c.maskKey, c.peers = nil, nil, nil
	clear(c.seed)
}
