namespace LiveMigration.Savevm;

/// <summary>The record type bytes of QEMU's migration stream.</summary>
public enum SectionType : byte
{
    /// <summary>End of the device state (0x00).</summary>
    Eof = 0x00,

    /// <summary>The first section of a live handler, with its name (0x01).</summary>
    Start = 0x01,

    /// <summary>A middle section of a live handler (0x02).</summary>
    Part = 0x02,

    /// <summary>The last section of a live handler (0x03).</summary>
    End = 0x03,

    /// <summary>A one-shot section with its name (0x04).</summary>
    Full = 0x04,

    /// <summary>A subsection inside a section's payload (0x05).</summary>
    Subsection = 0x05,

    /// <summary>The JSON VMDESCRIPTION trailer after EOF (0x06).</summary>
    VmDescription = 0x06,

    /// <summary>The configuration section naming the machine type (0x07).</summary>
    Configuration = 0x07,

    /// <summary>A command record (0x08).</summary>
    Command = 0x08,

    /// <summary>A section footer (0x7e).</summary>
    Footer = 0x7e,
}
