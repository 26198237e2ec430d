package egress

import (
	"bytes"
	"errors"
	"fmt"

	"github.com/google/nftables"
	"github.com/google/nftables/binaryutil"
	"github.com/google/nftables/expr"
	"golang.org/x/sys/unix"
)

// Lock replaces the table of Rules(uid) in the current network namespace,
// in one netlink batch, and reads it back: an error means the pod must not
// start.
func Lock(uid int) error {
	if uid <= 0 {
		return fmt.Errorf("the gate's uid %d: want a uid other than root's", uid)
	}
	c, err := nftables.New()
	if err != nil {
		return fmt.Errorf("nftables: %w", err)
	}
	tables, err := c.ListTablesOfFamily(nftables.TableFamilyINet)
	if err != nil {
		return fmt.Errorf("nftables: list tables: %w", err)
	}
	for _, t := range tables {
		if t.Name == Table {
			c.DelTable(t)
		}
	}
	t := c.AddTable(&nftables.Table{Family: nftables.TableFamilyINet, Name: Table})
	drop := nftables.ChainPolicyDrop
	ch := c.AddChain(&nftables.Chain{
		Name: Chain, Table: t, Type: nftables.ChainTypeFilter,
		Hooknum: nftables.ChainHookOutput, Priority: nftables.ChainPriorityFilter, Policy: &drop,
	})
	for _, r := range rules(uid) {
		c.AddRule(&nftables.Rule{Table: t, Chain: ch, Exprs: r})
	}
	if err := c.Flush(); err != nil {
		return fmt.Errorf("nftables: set the rules: %w", err)
	}
	return check(c, uid)
}

// rules are the chain's rules, in order.
func rules(uid int) [][]expr.Any {
	accept := &expr.Verdict{Kind: expr.VerdictAccept}
	return [][]expr.Any{
		{
			&expr.Meta{Key: expr.MetaKeyOIFNAME, Register: 1},
			&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: ifname("lo")},
			accept,
		},
		{
			&expr.Meta{Key: expr.MetaKeySKUID, Register: 1},
			&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: binaryutil.NativeEndian.PutUint32(uint32(uid))},
			accept,
		},
		{
			// Refused at once (rather than dropped), so a client fails fast.
			&expr.Reject{Type: unix.NFT_REJECT_ICMPX_UNREACH, Code: unix.NFT_REJECT_ICMPX_ADMIN_PROHIBITED},
		},
	}
}

func ifname(n string) []byte {
	b := make([]byte, unix.IFNAMSIZ)
	copy(b, n)
	return b
}

// check reads the chain back: its policy drop, and the rules as set.
func check(c *nftables.Conn, uid int) error {
	t := &nftables.Table{Family: nftables.TableFamilyINet, Name: Table}
	ch, err := c.ListChain(t, Chain)
	if err != nil {
		return fmt.Errorf("nftables: read the chain back: %w", err)
	}
	if ch.Policy == nil || *ch.Policy != nftables.ChainPolicyDrop || ch.Hooknum == nil || *ch.Hooknum != *nftables.ChainHookOutput {
		return errors.New("nftables: the chain read back is not the output hook with policy drop")
	}
	got, err := c.GetRules(t, ch)
	if err != nil {
		return fmt.Errorf("nftables: read the rules back: %w", err)
	}
	want := rules(uid)
	if len(got) != len(want) {
		return fmt.Errorf("nftables: %d rules read back, want %d", len(got), len(want))
	}
	// The uid is what matters most: its comparison must hold it.
	found := false
	for _, e := range got[1].Exprs {
		if cmp, ok := e.(*expr.Cmp); ok && bytes.Equal(cmp.Data, binaryutil.NativeEndian.PutUint32(uint32(uid))) {
			found = true
		}
	}
	if !found {
		return fmt.Errorf("nftables: the rule read back does not let uid %d out", uid)
	}
	return nil
}
