using Mono.Cecil;
using Mono.Cecil.Cil;

namespace LiveMigration.Tests.Architecture;

/// <summary>
/// Which source folder of the library uses which, read from the compiled assembly rather than from
/// <c>using</c> lines: every type named in a signature, a base type, an attribute or a method body counts.
/// </summary>
/// <remarks>
/// A folder is the namespace below <c>LiveMigration</c> (<c>LiveMigration.Ram.X</c> is in <c>Ram</c>); the
/// root namespace itself is the session layer. Compiler-generated types (closures, state machines) are
/// nested in the type whose code they hold, so their references count for that type's folder.
/// </remarks>
internal sealed class FolderDependencyGraph
{
    public const string RootNamespace = "LiveMigration";

    /// <summary>The folder the root namespace stands for.</summary>
    public const string RootFolder = "Session";

    private readonly Dictionary<string, Dictionary<string, SortedSet<string>>> _edges = [];

    private FolderDependencyGraph()
    {
    }

    /// <summary>The folders seen, each with at least one type.</summary>
    public SortedSet<string> Folders { get; } = new(StringComparer.Ordinal);

    /// <summary>Reads <paramref name="assemblyPath"/> and records every reference between its folders.</summary>
    public static FolderDependencyGraph Read(string assemblyPath)
    {
        var graph = new FolderDependencyGraph();
        using ModuleDefinition module = ModuleDefinition.ReadModule(assemblyPath);
        foreach (TypeDefinition type in module.GetTypes())
        {
            string? folder = FolderOf(type);
            if (folder is null)
                continue;
            graph.Folders.Add(folder);
            foreach (TypeReference used in ReferencesOf(type))
                graph.Add(folder, type, used, module);
        }
        return graph;
    }

    /// <summary>Every (from, to) pair of distinct folders, each with an example of the types involved.</summary>
    public IEnumerable<(string From, string To, IReadOnlyCollection<string> Examples)> Edges()
    {
        foreach ((string from, Dictionary<string, SortedSet<string>> targets) in _edges)
            foreach ((string to, SortedSet<string> examples) in targets)
                yield return (from, to, examples);
    }

    /// <summary>The folders <paramref name="from"/> uses directly.</summary>
    public IEnumerable<string> Uses(string from) =>
        _edges.TryGetValue(from, out Dictionary<string, SortedSet<string>>? targets) ? targets.Keys : [];

    /// <summary>The folder of a type of this library, or null for a type outside its namespaces.</summary>
    public static string? FolderOf(TypeReference type)
    {
        while (type.DeclaringType is not null)
            type = type.DeclaringType;
        string ns = type.Namespace;
        if (ns == RootNamespace)
            return RootFolder;
        if (!ns.StartsWith(RootNamespace + ".", StringComparison.Ordinal))
            return null;
        string rest = ns[(RootNamespace.Length + 1)..];
        int dot = rest.IndexOf('.', StringComparison.Ordinal);
        return dot < 0 ? rest : rest[..dot];
    }

    private void Add(string from, TypeDefinition user, TypeReference used, ModuleDefinition module)
    {
        foreach (TypeReference element in Flatten(used))
        {
            if (element.Scope != module)
                continue; // a type of another assembly, whatever its namespace
            string? to = FolderOf(element);
            if (to is null || to == from)
                continue;
            if (!_edges.TryGetValue(from, out Dictionary<string, SortedSet<string>>? targets))
                _edges[from] = targets = [];
            if (!targets.TryGetValue(to, out SortedSet<string>? examples))
                targets[to] = examples = new SortedSet<string>(StringComparer.Ordinal);
            if (examples.Count < 5)
                examples.Add($"{Outermost(user).FullName} -> {Outermost(element).FullName}");
        }
    }

    private static TypeReference Outermost(TypeReference type)
    {
        while (type.DeclaringType is not null)
            type = type.DeclaringType;
        return type;
    }

    /// <summary>A type and every type it is built from: generic arguments, array and pointer elements.</summary>
    private static IEnumerable<TypeReference> Flatten(TypeReference type)
    {
        switch (type)
        {
            case GenericInstanceType generic:
                foreach (TypeReference inner in Flatten(generic.ElementType))
                    yield return inner;
                foreach (TypeReference argument in generic.GenericArguments)
                    foreach (TypeReference inner in Flatten(argument))
                        yield return inner;
                break;
            case TypeSpecification specification: // arrays, by-ref, pointers, modifiers
                foreach (TypeReference inner in Flatten(specification.ElementType))
                    yield return inner;
                break;
            case GenericParameter:
                break;
            default:
                yield return type;
                break;
        }
    }

    private static IEnumerable<TypeReference> ReferencesOf(TypeDefinition type)
    {
        if (type.BaseType is not null)
            yield return type.BaseType;
        foreach (InterfaceImplementation implemented in type.Interfaces)
            yield return implemented.InterfaceType;
        foreach (TypeReference used in AttributeTypes(type.CustomAttributes))
            yield return used;
        foreach (GenericParameter parameter in type.GenericParameters)
            foreach (GenericParameterConstraint constraint in parameter.Constraints)
                yield return constraint.ConstraintType;
        foreach (FieldDefinition field in type.Fields)
        {
            yield return field.FieldType;
            foreach (TypeReference used in AttributeTypes(field.CustomAttributes))
                yield return used;
        }
        foreach (PropertyDefinition property in type.Properties)
        {
            yield return property.PropertyType;
            foreach (TypeReference used in AttributeTypes(property.CustomAttributes))
                yield return used;
        }
        foreach (EventDefinition @event in type.Events)
            yield return @event.EventType;
        foreach (MethodDefinition method in type.Methods)
            foreach (TypeReference used in ReferencesOf(method))
                yield return used;
    }

    private static IEnumerable<TypeReference> ReferencesOf(MethodDefinition method)
    {
        foreach (TypeReference used in SignatureTypes(method))
            yield return used;
        foreach (TypeReference used in AttributeTypes(method.CustomAttributes))
            yield return used;
        foreach (MethodReference overridden in method.Overrides)
            yield return overridden.DeclaringType;
        if (!method.HasBody)
            yield break;
        foreach (VariableDefinition variable in method.Body.Variables)
            yield return variable.VariableType;
        foreach (ExceptionHandler handler in method.Body.ExceptionHandlers)
            if (handler.CatchType is not null)
                yield return handler.CatchType;
        foreach (Instruction instruction in method.Body.Instructions)
        {
            switch (instruction.Operand)
            {
                case TypeReference operandType:
                    yield return operandType;
                    break;
                case MethodReference operandMethod:
                    yield return operandMethod.DeclaringType;
                    foreach (TypeReference used in SignatureTypes(operandMethod))
                        yield return used;
                    if (operandMethod is GenericInstanceMethod genericMethod)
                        foreach (TypeReference argument in genericMethod.GenericArguments)
                            yield return argument;
                    break;
                case FieldReference operandField:
                    yield return operandField.DeclaringType;
                    yield return operandField.FieldType;
                    break;
            }
        }
    }

    private static IEnumerable<TypeReference> SignatureTypes(MethodReference method)
    {
        yield return method.ReturnType;
        foreach (ParameterDefinition parameter in method.Parameters)
            yield return parameter.ParameterType;
    }

    private static IEnumerable<TypeReference> AttributeTypes(IEnumerable<CustomAttribute> attributes)
    {
        foreach (CustomAttribute attribute in attributes)
        {
            yield return attribute.AttributeType;
            foreach (CustomAttributeArgument argument in attribute.ConstructorArguments)
                if (argument.Value is TypeReference typeArgument)
                    yield return typeArgument;
        }
    }
}
