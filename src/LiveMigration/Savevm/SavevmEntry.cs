using System.Text;

namespace LiveMigration.Savevm;

/// <summary>A registered section with the section id it is sent under and its idstr pre-encoded.</summary>
/// <typeparam name="TSection">The saving or the loading side.</typeparam>
internal sealed class SavevmEntry<TSection>
    where TSection : ISavevmSection
{
    public SavevmEntry(TSection handler, uint sectionId)
    {
        Handler = handler;
        SectionId = sectionId;
        IdStrUtf8 = Encoding.UTF8.GetBytes(handler.IdStr);
    }

    /// <summary>The saver or loader of the payload.</summary>
    public TSection Handler { get; }

    /// <summary>The section id this section carries when we send.</summary>
    public uint SectionId { get; }

    /// <summary>The idstr in UTF-8, encoded once so framing a section does not allocate.</summary>
    public byte[] IdStrUtf8 { get; }
}
