package fixedpoint

// FromWire builds Params from the fields of a confedv1.FixedPoint message
// (kept free of the protobuf dependency: callers pass the fields).
func FromWire(bits uint32, clip, scale float64, maxWeight uint64, maxParticipants uint32) Params {
	return Params{Bits: int(bits), Clip: clip, Scale: scale, MaxWeight: maxWeight, MaxParticipants: int(maxParticipants)}
}
