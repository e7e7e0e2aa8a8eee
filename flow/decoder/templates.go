package decoder

import (
	"net/netip"
	"slices"
	"sync"
	"time"

	"github.com/netsampler/goflow2/v2/decoders/netflow"
)

// templateKey names a template: RFC 7011 scopes template ids to the
// observation domain (NetFlow v9: source id) of one exporter.
type templateKey struct {
	version uint16
	id      uint16
	domain  uint32
}

// template is a NetFlow v9/IPFIX template as the record walker uses it.
type template struct {
	fields   []templateField
	scopes   int  // options templates: the first scopes fields are scope fields
	options  bool // an options template: its data updates sampling rates
	minLen   int  // bytes of the fixed-length fields
	variable bool // has variable-length fields
}

type templateField struct {
	typ    uint16
	length uint16 // 0xffff: variable length
	pen    uint32 // enterprise number, 0 for IANA elements
}

// variableLength is the field length of IPFIX variable-length fields.
const variableLength = 0xffff

// newTemplate builds a template from goflow2's fields; it returns nil for a
// template without fields (an IPFIX template withdrawal).
func newTemplate(scopes, fields []netflow.Field, options bool) *template {
	if len(scopes)+len(fields) == 0 {
		return nil
	}
	t := &template{
		fields:  make([]templateField, 0, len(scopes)+len(fields)),
		scopes:  len(scopes),
		options: options,
	}
	for _, list := range [2][]netflow.Field{scopes, fields} {
		for _, f := range list {
			tf := templateField{typ: f.Type, length: f.Length}
			if f.PenProvided {
				tf.typ &^= 0x8000 // goflow2 keeps the enterprise bit in options templates
				tf.pen = f.Pen
			}
			if tf.length == variableLength {
				t.variable = true
			} else {
				t.minLen += int(tf.length)
			}
			t.fields = append(t.fields, tf)
		}
	}
	return t
}

func (t *template) equal(u *template) bool {
	return t.scopes == u.scopes && t.options == u.options && slices.Equal(t.fields, u.fields)
}

// rateKey names a sampling rate learnt from options data: for an
// observation domain, a sampler (selector) id, or a data template id.
type rateKey struct {
	version uint16
	scope   rateScope
	domain  uint32
	id      uint32
}

type rateScope uint8

const (
	rateDomain rateScope = iota
	rateSampler
	rateTemplate
)

// domainKey names an observation domain.
type domainKey struct {
	version uint16
	domain  uint32
}

// heldSet is a data set waiting for its template.
type heldSet struct {
	key  templateKey
	hdr  msgHeader
	t    time.Time
	data []byte
}

// templateNote is a template problem noticed while goflow2 decodes a message.
type templateNote struct {
	id   uint16
	kind ErrorKind
}

// exporterState is what the decoder keeps for one NetFlow v9/IPFIX exporter.
// Its mutex is held while one of its datagrams is decoded.
//
// It implements goflow2's netflow.NetFlowTemplateSystem, so that goflow2's
// message decoder stores here the templates it parses. GetTemplate never
// returns one: goflow2 then hands every data set back undecoded (as a
// RawFlowSet) and the decoder walks its records in place, without goflow2's
// per-field allocations, or holds it when its template is really missing.
type exporterState struct {
	mu           sync.Mutex
	addr         netip.Addr
	lastSeen     time.Time
	forgotten    bool // removed by Expire
	maxTemplates int

	templates map[templateKey]*template
	rates     map[rateKey]uint32
	initTimes map[domainKey]uint64 // systemInitTimeMilliseconds from options data

	held      []heldSet
	heldBytes int

	// Set while goflow2 decodes one message.
	added []templateKey
	notes []templateNote
}

var _ netflow.NetFlowTemplateSystem = (*exporterState)(nil)

func newExporterState(addr netip.Addr, maxTemplates int) *exporterState {
	return &exporterState{
		addr:         addr,
		maxTemplates: maxTemplates,
		templates:    make(map[templateKey]*template),
		rates:        make(map[rateKey]uint32),
		initTimes:    make(map[domainKey]uint64),
	}
}

// AddTemplate stores a template parsed by goflow2. Template ids below 256
// are not data templates and are ignored; a template without fields
// withdraws the template; one whose records would be empty is refused.
func (st *exporterState) AddTemplate(version uint16, domain uint32, id uint16, tpl any) error {
	if id < 256 {
		return nil
	}
	var t *template
	switch tpl := tpl.(type) {
	case netflow.TemplateRecord:
		t = newTemplate(nil, tpl.Fields, false)
	case netflow.NFv9OptionsTemplateRecord:
		t = newTemplate(tpl.Scopes, tpl.Options, true)
	case netflow.IPFIXOptionsTemplateRecord:
		t = newTemplate(tpl.Scopes, tpl.Options, true)
	default:
		return nil
	}
	key := templateKey{version: version, id: id, domain: domain}
	old, known := st.templates[key]
	switch {
	case t == nil:
		delete(st.templates, key)
		return nil
	case t.minLen == 0 && !t.variable:
		delete(st.templates, key)
		st.notes = append(st.notes, templateNote{id, KindMalformed})
		return nil
	case known && old.equal(t):
		st.added = append(st.added, key)
		return nil
	case !known && len(st.templates) >= st.maxTemplates:
		st.notes = append(st.notes, templateNote{id, KindLimit})
		return nil
	}
	st.templates[key] = t
	st.added = append(st.added, key)
	return nil
}

// GetTemplate returns no template, on purpose: see exporterState.
func (st *exporterState) GetTemplate(uint16, uint32, uint16) (any, error) {
	return nil, netflow.ErrorTemplateNotFound
}

// RemoveTemplate removes a template.
func (st *exporterState) RemoveTemplate(version uint16, domain uint32, id uint16) (any, error) {
	key := templateKey{version: version, id: id, domain: domain}
	t, ok := st.templates[key]
	if !ok {
		return nil, netflow.ErrorTemplateNotFound
	}
	delete(st.templates, key)
	return t, nil
}

// GetTemplates returns nothing: ixpd does not list templates through goflow2.
func (st *exporterState) GetTemplates() netflow.FlowBaseTemplateSet {
	return netflow.FlowBaseTemplateSet{}
}

// setRate keeps a sampling rate learnt from options data, within the bound.
func (st *exporterState) setRate(k rateKey, rate uint32) {
	if _, ok := st.rates[k]; !ok && len(st.rates) >= st.maxTemplates {
		return
	}
	st.rates[k] = rate
}

// rate returns the sampling rate learnt for the record: per sampler id,
// per data template, per observation domain; then the same in observation
// domain 0 ("not relevant", RFC 7011), 0 when none is known.
func (st *exporterState) rate(hdr *msgHeader, templateID uint16, r *record) uint32 {
	domains := [2]uint32{hdr.domain, 0}
	n := 2
	if hdr.domain == 0 {
		n = 1
	}
	for _, dom := range domains[:n] {
		if r.has&hasSampler != 0 {
			if v := st.rates[rateKey{hdr.version, rateSampler, dom, r.samplerID}]; v != 0 {
				return v
			}
		}
		if v := st.rates[rateKey{hdr.version, rateTemplate, dom, uint32(templateID)}]; v != 0 {
			return v
		}
		if v := st.rates[rateKey{hdr.version, rateDomain, dom, 0}]; v != 0 {
			return v
		}
	}
	return 0
}

// learnOptions keeps what an options data record says about sampling and
// about the exporter's boot time.
func (st *exporterState) learnOptions(hdr *msgHeader, r *record) {
	if r.has&hasInitTime != 0 {
		k := domainKey{hdr.version, hdr.domain}
		if _, ok := st.initTimes[k]; ok || len(st.initTimes) < st.maxTemplates {
			st.initTimes[k] = r.initTime
		}
	}
	rate := r.rate()
	if rate == 0 {
		return
	}
	k := rateKey{version: hdr.version, scope: rateDomain, domain: hdr.domain}
	switch {
	case r.has&hasSampler != 0:
		k.scope, k.id = rateSampler, r.samplerID
	case r.has&hasScopeTemplate != 0:
		k.scope, k.id = rateTemplate, r.scopeTemplate
	}
	st.setRate(k, rate)
}
