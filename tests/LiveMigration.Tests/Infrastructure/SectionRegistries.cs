using LiveMigration.Savevm;

namespace LiveMigration.Tests.Infrastructure;

/// <summary>
/// The same test sections registered for both directions: each one that saves goes into
/// <see cref="Savers"/>, each one that loads into <see cref="Loaders"/>, in the order given.
/// </summary>
internal sealed class SectionRegistries
{
    public SectionRegistries(IEnumerable<ISavevmSection> sections)
    {
        foreach (ISavevmSection section in sections)
        {
            if (section is ISectionSaver saver)
                Savers.Register(saver);
            if (section is ISectionLoader loader)
                Loaders.Register(loader);
        }
    }

    public SavevmRegistry<ISectionSaver> Savers { get; } = new();

    public SavevmRegistry<ISectionLoader> Loaders { get; } = new();

    public static implicit operator SavevmRegistry<ISectionSaver>(SectionRegistries registries) => registries.Savers;

    public static implicit operator SavevmRegistry<ISectionLoader>(SectionRegistries registries) => registries.Loaders;
}
