/**
 * Calls a `pulumi.dynamic.ResourceProvider` the way @pulumi/pulumi's dynamic provider host
 * (`cmd/dynamic-provider`) does, for tests that drive provider methods directly:
 *  - inputs and old outputs arrive as protobuf Structs converted to JavaScript (`toJavaScript()`), with the
 *    `__provider` property present;
 *  - create/update/read results are converted with `Struct.fromJavaScript` (which throws on `undefined`
 *    members, as it does in the real host) and get `__provider` added back;
 *  - an error from `create` that carries `id` is the host's "resource created but failed to initialize":
 *    its `properties` are converted the same way.
 * It is the host's data path, not a Pulumi engine: no gRPC, no state file.
 */
import type * as pulumi from "@pulumi/pulumi";

// The exact protobuf module the Pulumi host uses.
const structproto = require(require.resolve("google-protobuf/google/protobuf/struct_pb", { paths: [require.resolve("@pulumi/pulumi")] }));

/** What the host does to a property bag on the wire: JS → Struct → JS. Throws where the host would. */
export function throughWire<T>(value: T): T {
    return structproto.Struct.fromJavaScript(value ?? {}).toJavaScript();
}

/** The provider as the host sees it: every value goes through the wire conversion, `__provider` included. */
export function hosted<I, O>(provider: pulumi.dynamic.ResourceProvider<I, O>, providerText = "serialized-provider-text"): Required<pulumi.dynamic.ResourceProvider<I, O>> {
    const withProvider = (v: any) => throughWire({ ...v, __provider: providerText });
    const rethrow = (e: any): never => {
        if (e && e.id) throughWire(e.properties ?? {});
        throw e;
    };
    return {
        configure: async () => undefined,
        check: async (olds, news) => {
            const r = await provider.check!(throughWire(olds), withProvider(news));
            return { ...r, inputs: r.inputs && withProvider(r.inputs) };
        },
        diff: async (id, olds, news) => provider.diff!(id, withProvider(olds), withProvider(news)),
        create: async (inputs) => {
            const r = await provider.create(withProvider(inputs)).catch(rethrow);
            return { id: r.id, outs: withProvider(r.outs) };
        },
        read: async (id, props) => {
            const r = await provider.read!(id, withProvider(props));
            return { ...r, props: r.props && withProvider(r.props) };
        },
        update: async (id, olds, news) => {
            const r = await provider.update!(id, withProvider(olds), withProvider(news));
            return { outs: withProvider(r.outs) };
        },
        delete: async (id, props) => provider.delete!(id, withProvider(props)),
    };
}
