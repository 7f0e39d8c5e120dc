package kvcore

import (
	"bytes"
	"encoding/json"
	"fmt"
)

// mergePatch applies an RFC 7396 merge patch. A missing record, or one whose
// value is not an object, is patched as {} when the patch is an object; a
// patch that is not an object replaces the value.
//
// Objects are parsed once into trees whose other values keep their text (so
// numbers stay exact), merged, and written out again: the time is linear in
// the sizes however deep the objects nest.
func mergePatch(doc []byte, exists bool, patch []byte) ([]byte, error) {
	if !isObject(patch) {
		return patch, nil
	}
	var target jsonValue
	if exists && isObject(doc) {
		var err error
		if target, err = parseJSON(doc); err != nil {
			return nil, fmt.Errorf("%w: merge patch: stored value: %v", ErrInvalidValue, err)
		}
	}
	p, err := parseJSON(patch)
	if err != nil {
		return nil, fmt.Errorf("%w: merge patch: %v", ErrInvalidValue, err)
	}
	// Both documents are compact (encode made them so), so the merge is.
	return mergeValues(target, p).appendTo(nil), nil
}

// mergeValues is RFC 7396's MergePatch(target, patch): null deletes a
// member, objects merge member by member (onto {} if the target is no
// object), and any other value, an array included, replaces the target's as
// it is. The target's members keep their order; new ones follow in the
// patch's. target is changed.
func mergeValues(target, patch jsonValue) jsonValue {
	if patch.obj == nil {
		return patch
	}
	t := target.obj
	if t == nil {
		t = &jsonObject{at: map[string]int{}}
	}
	for _, m := range patch.obj.members {
		i, ok := t.at[m.name]
		switch {
		case m.value.obj == nil && string(m.value.raw) == "null":
			if ok {
				t.members[i].value = jsonValue{} // deleted
			}
		case ok:
			t.members[i].value = mergeValues(t.members[i].value, m.value)
		default:
			t.at[m.name] = len(t.members)
			t.members = append(t.members, member{name: m.name, key: m.key, value: mergeValues(jsonValue{}, m.value)})
		}
	}
	return jsonValue{obj: t}
}

// jsonValue is a parsed JSON value: an object, or any other value's text.
// The zero jsonValue is a deleted member.
type jsonValue struct {
	obj *jsonObject
	raw []byte
}

// jsonObject is a JSON object's members in order, indexed by name. Of
// members with the same name the last value counts (as in encoding/json),
// at the place of the first.
type jsonObject struct {
	members []member
	at      map[string]int
}

// member is one member of a JSON object: its decoded name, the name's text
// as written and its value.
type member struct {
	name  string
	key   []byte
	value jsonValue
}

// parseJSON parses the JSON text src.
func parseJSON(src []byte) (jsonValue, error) {
	return parseValue(json.NewDecoder(bytes.NewReader(src)), src)
}

// parseValue reads the next value from dec, which reads src, descending
// into objects.
func parseValue(dec *json.Decoder, src []byte) (jsonValue, error) {
	rest := bytes.TrimLeft(src[dec.InputOffset():], " \t\r\n:")
	if len(rest) == 0 || rest[0] != '{' {
		var raw json.RawMessage
		err := dec.Decode(&raw)
		return jsonValue{raw: raw}, err
	}
	if _, err := dec.Token(); err != nil { // {
		return jsonValue{}, err
	}
	o := &jsonObject{at: map[string]int{}}
	for dec.More() {
		start := dec.InputOffset()
		tok, err := dec.Token()
		if err != nil {
			return jsonValue{}, err
		}
		name, _ := tok.(string)
		key := bytes.TrimLeft(src[start:dec.InputOffset()], ", \t\r\n")
		v, err := parseValue(dec, src)
		if err != nil {
			return jsonValue{}, err
		}
		if i, ok := o.at[name]; ok {
			o.members[i].value = v
			continue
		}
		o.at[name] = len(o.members)
		o.members = append(o.members, member{name: name, key: key, value: v})
	}
	if _, err := dec.Token(); err != nil { // }
		return jsonValue{}, err
	}
	return jsonValue{obj: o}, nil
}

// appendTo appends v's JSON text to buf, leaving out deleted members.
func (v jsonValue) appendTo(buf []byte) []byte {
	if v.obj == nil {
		return append(buf, v.raw...)
	}
	buf = append(buf, '{')
	first := true
	for _, m := range v.obj.members {
		if m.value.obj == nil && m.value.raw == nil {
			continue
		}
		if !first {
			buf = append(buf, ',')
		}
		first = false
		buf = m.value.appendTo(append(append(buf, m.key...), ':'))
	}
	return append(buf, '}')
}

func isObject(b []byte) bool {
	b = bytes.TrimLeft(b, " \t\r\n")
	return len(b) > 0 && b[0] == '{'
}
