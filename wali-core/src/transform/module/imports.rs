//! New function imports: a whole-module pass (imports come before the
//! defined functions in the index space, so every defined function's index
//! moves up by the number added: calls, `ref.func`, element segments,
//! exports, the start function and the name section all follow).

use super::{enc_val, ModuleInfo, Sig};
use crate::transform::Error;
use wasm_encoder::reencode::{self, Reencode};

#[derive(Clone, Copy)]
struct AddImports<'n> {
    /// Imported functions of the original module.
    imported: u32,
    /// Types of the original module (the new ones follow).
    types: u32,
    new: &'n [(&'n str, &'n str, Sig)],
}

impl Reencode for AddImports<'_> {
    type Error = std::convert::Infallible;

    /// Every body re-encoded (its calls renumbered), side by side on the
    /// machine's cores.
    fn parse_code_section(
        &mut self,
        code: &mut wasm_encoder::CodeSection,
        section: wasmparser::CodeSectionReader<'_>,
    ) -> Result<(), reencode::Error<Self::Error>> {
        let bodies = section.into_iter().collect::<Result<Vec<_>, _>>()?;
        let me = *self;
        let done = super::par::map(bodies.len(), |i| {
            let mut me = me;
            let mut f = me.new_function_with_parsed_locals(&bodies[i])?;
            let mut r = bodies[i].get_operators_reader()?;
            while !r.eof() {
                f.instruction(&me.parse_instruction(&mut r)?);
            }
            Ok::<_, reencode::Error<Self::Error>>(f)
        });
        for f in done {
            code.function(&f?);
        }
        Ok(())
    }

    fn function_index(&mut self, func: u32) -> Result<u32, reencode::Error<Self::Error>> {
        Ok(if func >= self.imported {
            func + self.new.len() as u32
        } else {
            func
        })
    }

    fn parse_type_section(
        &mut self,
        types: &mut wasm_encoder::TypeSection,
        section: wasmparser::TypeSectionReader<'_>,
    ) -> Result<(), reencode::Error<Self::Error>> {
        reencode::utils::parse_type_section(self, types, section)?;
        for (_, _, sig) in self.new {
            types.ty().function(
                sig.params.iter().map(|t| enc_val(*t)),
                sig.results.iter().map(|t| enc_val(*t)),
            );
        }
        Ok(())
    }

    fn parse_import_section(
        &mut self,
        imports: &mut wasm_encoder::ImportSection,
        section: wasmparser::ImportSectionReader<'_>,
    ) -> Result<(), reencode::Error<Self::Error>> {
        reencode::utils::parse_import_section(self, imports, section)?;
        for (i, (module, name, _)) in self.new.iter().enumerate() {
            imports.import(
                module,
                name,
                wasm_encoder::EntityType::Function(self.types + i as u32),
            );
        }
        Ok(())
    }
}

/// `wasm` with the function imports `new` (module, name, signature) added
/// after its own function imports; each defined function's index grows by
/// `new.len()`. The module must have a type and an import section (every
/// WALI guest has both).
pub fn add_func_imports(
    wasm: &[u8],
    info: &ModuleInfo,
    new: &[(&str, &str, Sig)],
) -> Result<Vec<u8>, Error> {
    if info.func_imports.is_empty() || info.types.is_empty() {
        return Err(Error("the module has no function imports or types".into()));
    }
    let mut r = AddImports {
        imported: info.num_func_imports,
        types: info.types.len() as u32,
        new,
    };
    let mut module = wasm_encoder::Module::new();
    r.parse_core_module(&mut module, wasmparser::Parser::new(0), wasm)
        .map_err(|e| Error(format!("adding imports: {e}")))?;
    Ok(module.finish())
}

#[cfg(test)]
mod tests {
    use super::*;
    use wasmparser::ValType;

    #[test]
    fn every_function_reference_moves_past_the_new_import() {
        let wat = r#"(module
            (type $t (func (param i32) (result i32)))
            (import "wali" "SYS_getpid" (func $getpid (result i64)))
            (table 2 funcref)
            (elem (i32.const 0) func $a $b)
            (func $a (type $t) local.get 0 call $b)
            (func $b (type $t) local.get 0 i32.const 1 i32.add)
            (func $c (result i32) ref.func $a drop i32.const 7 call $a)
            (func $start)
            (start $start)
            (export "a" (func $a))
            (export "c" (func $c)))"#;
        let wasm = wat::parse_str(wat).unwrap();
        let info = ModuleInfo::parse(&wasm).unwrap();
        let sig = Sig {
            params: vec![ValType::I32],
            results: vec![ValType::I64],
        };
        let out = add_func_imports(&wasm, &info, &[("wali", "__new", sig.clone())]).unwrap();
        wasmparser::Validator::new_with_features(wasmparser::WasmFeatures::all())
            .validate_all(&out)
            .unwrap();
        let after = ModuleInfo::parse(&out).unwrap();
        assert_eq!(after.num_func_imports, 2);
        assert_eq!(after.import_func("wali", "__new"), Some(1));
        assert_eq!(after.sig_of_func(1), Some(&sig));
        // names, exports, elements and calls all follow
        assert_eq!(after.func_by_name("a"), Some(2));
        assert_eq!(after.func_by_name("c"), Some(4));
        assert_eq!(after.export_func("c"), Some(4));
        assert_eq!(after.table0, vec![Some(2), Some(3)]);
        let text = wasmprinter::print_bytes(&out).unwrap();
        assert!(text.contains("call $b"), "{text}");
        assert!(text.contains("ref.func $a"), "{text}");
        assert!(text.contains("(start $start)"), "{text}");
    }
}
