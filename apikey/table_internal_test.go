package apikey

import (
	"reflect"
	"testing"
)

// TestTableRowsHoldNoPointers: what a Table holds per key (rows, pools,
// the map's keys and values) has no pointer for the garbage collector to
// follow, so a million keys cost it nothing to mark.
func TestTableRowsHoldNoPointers(t *testing.T) {
	var tb Table
	for _, typ := range []reflect.Type{
		reflect.TypeOf(tb.rows).Elem(), reflect.TypeOf(tb.nets).Elem(), reflect.TypeOf(tb.lists).Elem(),
		reflect.TypeOf(tb.byID).Key(), reflect.TypeOf(tb.byID).Elem(),
	} {
		if path := pointerIn(typ, typ.String()); path != "" {
			t.Errorf("%s holds a pointer at %s", typ, path)
		}
	}
}

// pointerIn returns where typ holds a pointer, or "".
func pointerIn(typ reflect.Type, path string) string {
	switch typ.Kind() {
	case reflect.Struct:
		for i := range typ.NumField() {
			f := typ.Field(i)
			if p := pointerIn(f.Type, path+"."+f.Name); p != "" {
				return p
			}
		}
		return ""
	case reflect.Array:
		return pointerIn(typ.Elem(), path+"[]")
	case reflect.Bool, reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Float32, reflect.Float64:
		return ""
	}
	return path
}
