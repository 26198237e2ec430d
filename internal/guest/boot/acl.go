package boot

// POSIX ACLs in the kernel's extended-attribute format (version 2: a
// little-endian header, then tag, permissions and id for each entry), as
// setfacl writes them; hjk-init sets them itself to stay free of libacl.
const (
	aclVersion  = 2
	aclUserObj  = 0x01
	aclUser     = 0x02
	aclGroupObj = 0x04
	aclMask     = 0x10
	aclOther    = 0x20
	aclNoID     = 0xffffffff
)

// grantACL is the ACL `u::rwx,u:UID:rwx,g::r-x,m::rwx,o::r-x`: the owner
// and uid may do anything, others read. As a default ACL on a folder every
// file and folder made inside inherits it, whoever makes them: the user's
// own edits on the host stay writable for the container's user.
func grantACL(uid uint32) []byte {
	entries := []struct {
		tag, perm uint16
		id        uint32
	}{
		{aclUserObj, 7, aclNoID},
		{aclUser, 7, uid},
		{aclGroupObj, 5, aclNoID},
		{aclMask, 7, aclNoID},
		{aclOther, 5, aclNoID},
	}
	le32 := func(b []byte, v uint32) []byte { return append(b, byte(v), byte(v>>8), byte(v>>16), byte(v>>24)) }
	le16 := func(b []byte, v uint16) []byte { return append(b, byte(v), byte(v>>8)) }
	b := le32(nil, aclVersion)
	for _, e := range entries {
		b = le32(le16(le16(b, e.tag), e.perm), e.id)
	}
	return b
}
