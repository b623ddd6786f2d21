using System.Text;

namespace LiveMigration.Savevm;

/// <summary>A registered handler with the section id it is sent under and its idstr pre-encoded.</summary>
internal sealed class SavevmEntry
{
    public SavevmEntry(ISavevmHandler handler, uint sectionId)
    {
        Handler = handler;
        SectionId = sectionId;
        IdStrUtf8 = Encoding.UTF8.GetBytes(handler.IdStr);
    }

    /// <summary>The handler writing and reading the payload.</summary>
    public ISavevmHandler Handler { get; }

    /// <summary>The section id this handler's sections carry when we send.</summary>
    public uint SectionId { get; }

    /// <summary>The idstr in UTF-8, encoded once so framing a section does not allocate.</summary>
    public byte[] IdStrUtf8 { get; }
}
